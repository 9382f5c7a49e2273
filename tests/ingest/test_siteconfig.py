"""Site configuration: the shipped files load; errors name the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from imnm.settings import CONFIG_DIR
from imnm.siteconfig import SiteConfigError, load_site_config, load_site_configs, load_vocabularies


def _write(tmp_path: Path, text: str, name: str = "northway") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_site_files_and_vocabularies_load() -> None:
    configs = load_site_configs(CONFIG_DIR / "sites")
    assert {c.site for c in configs} >= {"lakeside", "riverside", "hillcrest", "northgate"}
    for config in configs:
        assert "ecgs" in config.kinds, config.path
        assert {"patients", "diagnoses", "echos", "outcomes"} <= set(config.kinds), config.path
    vocabularies = load_vocabularies(CONFIG_DIR / "vocabularies.toml")
    assert vocabularies["sex"]["male"] == "male"
    assert {"yes_no", "drug", "analyte", "unit"} <= set(vocabularies)


def test_missing_key_names_file_and_key(tmp_path: Path) -> None:
    path = _write(tmp_path, 'site = "northway"\ndate_format = "%Y-%m-%d"\n'
                            '[kinds.labs]\npattern = "labs*.csv"\n[kinds.labs.columns]\n'
                            'local_id = "MRN"\n')
    with pytest.raises(SiteConfigError) as caught:
        load_site_config(path)
    assert str(path) in str(caught.value)
    assert "kinds.labs.format" in str(caught.value)


def test_unknown_canonical_column_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, 'site = "northway"\ndate_format = "%Y-%m-%d"\n'
                            '[kinds.labs]\npattern = "labs*.csv"\nformat = "csv"\n'
                            '[kinds.labs.columns]\nlocal_id = "MRN"\ncreatine = "CK"\n')
    with pytest.raises(SiteConfigError, match=r"kinds\.labs\.columns\.creatine"):
        load_site_config(path)


def test_unknown_format_and_site_name_mismatch(tmp_path: Path) -> None:
    bad_format = _write(tmp_path, 'site = "northway"\ndate_format = "%Y"\n'
                                  '[kinds.ecgs]\npattern = "*.ecg"\nformat = "pdf"\n')
    with pytest.raises(SiteConfigError, match=r"kinds\.ecgs\.format"):
        load_site_config(bad_format)
    mismatch = _write(tmp_path, 'site = "elsewhere"\ndate_format = "%Y"\n[kinds]\n', "other")
    with pytest.raises(SiteConfigError, match=r"\[site\]"):
        load_site_config(mismatch)
