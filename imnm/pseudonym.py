"""Keyed pseudonyms for local record numbers (HMAC-SHA256); the key never enters the warehouse."""

from __future__ import annotations

import hashlib
import hmac

PSEUDONYM_PREFIX = "P"
PSEUDONYM_HEX_CHARS = 20


def pseudonymize(key: bytes, site: str, local_id: str) -> str:
    """The patient key for a site's local record number: stable for one key, opaque without it."""
    message = f"{site}\x1f{local_id.strip()}".encode()
    digest = hmac.new(key, message, hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:PSEUDONYM_HEX_CHARS]
