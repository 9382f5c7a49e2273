"""Where the pseudonymization key comes from, and what happens when it is missing or weak."""

from __future__ import annotations

from pathlib import Path

import pytest

from imnm.pseudonym import pseudonymize
from imnm.settings import ConfigurationError, pseudonym_key


def test_key_from_a_mounted_secret_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "pseudonym.key"
    secret.write_text("a-secret-from-a-file-0123\n", encoding="utf-8")
    monkeypatch.delenv("IMNM_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("IMNM_PSEUDONYM_KEY_FILE", str(secret))
    assert pseudonym_key() == b"a-secret-from-a-file-0123"


def test_the_environment_variable_wins_over_the_file(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMNM_PSEUDONYM_KEY", "from-the-environment-0123")
    monkeypatch.setenv("IMNM_PSEUDONYM_KEY_FILE", str(tmp_path / "absent"))
    assert pseudonym_key() == b"from-the-environment-0123"


@pytest.mark.parametrize("content", [None, "short"])
def test_missing_or_short_keys_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           content: str | None) -> None:
    monkeypatch.delenv("IMNM_PSEUDONYM_KEY", raising=False)
    secret = tmp_path / "pseudonym.key"
    if content is not None:
        secret.write_text(content, encoding="utf-8")
    monkeypatch.setenv("IMNM_PSEUDONYM_KEY_FILE", str(secret))
    with pytest.raises(ConfigurationError, match="cannot be read|at least 16"):
        pseudonym_key()


def test_pseudonyms_depend_on_key_and_site_and_hide_the_record_number() -> None:
    one = pseudonymize(b"k" * 16, "lakeside", "LK-000123")
    assert one == pseudonymize(b"k" * 16, "lakeside", " LK-000123 ")
    assert one != pseudonymize(b"j" * 16, "lakeside", "LK-000123")
    assert one != pseudonymize(b"k" * 16, "riverside", "LK-000123")
    assert "000123" not in one and len(one) == 21
