"""Parse untrusted vendor XML without entity expansion or external fetches.

ECG XML arrives from many sites and devices, so every parse goes through defusedxml: entity
declarations (billion laughs, external entities) and external references are refused. A plain
`<!DOCTYPE ... SYSTEM "x.dtd">` line is allowed because GE MUSE exports always carry one; the DTD
is never loaded. Bytes are handed to the parser so it honours the BOM and the declared encoding
(UTF-16, ISO-8859-1).
"""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as defused_et

from imnm.ecg.formats import EcgFileError

# Real 12-lead exports are a few MB; anything far larger is not an ECG and is refused unread.
MAX_XML_BYTES = 64 * 1024 * 1024


def parse_xml_bytes(data: bytes, source: str | Path) -> Element:
    """Parse XML bytes safely and return the root element; raise `EcgFileError` naming `source`."""
    if len(data) > MAX_XML_BYTES:
        raise EcgFileError(f"{source}: XML is {len(data)} bytes, over the {MAX_XML_BYTES} limit")
    try:
        return defused_et.fromstring(
            data, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except defusedxml.EntitiesForbidden as exc:
        raise EcgFileError(f"{source}: XML declares entities; refused") from exc
    except defusedxml.ExternalReferenceForbidden as exc:
        raise EcgFileError(f"{source}: XML references an external resource; refused") from exc
    except defusedxml.DefusedXmlException as exc:
        raise EcgFileError(f"{source}: XML uses a forbidden construct; refused") from exc
    except ParseError as exc:
        raise EcgFileError(f"{source}: not well-formed XML ({exc})") from exc
    except (ValueError, LookupError) as exc:  # e.g. an encoding name expat does not know
        raise EcgFileError(f"{source}: cannot decode XML ({exc})") from exc


def read_xml_file(path: Path) -> Element:
    """Read a file's bytes and parse them with `parse_xml_bytes`; unreadable files raise too."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_XML_BYTES:
            raise EcgFileError(f"{path}: XML is {size} bytes, over the {MAX_XML_BYTES} limit")
        data = path.read_bytes()
    except OSError as exc:
        raise EcgFileError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    return parse_xml_bytes(data, path)

