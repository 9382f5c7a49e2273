"""The command line's study options: `refresh --set STUDY.NAME=VALUE` and `report --study`,
refused clearly before any work starts when the study or parameter does not exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from imnm.cli import build_parser, main
from imnm.settings import ConfigurationError
from imnm.studies.parameters import (
    STANDING_OVERRIDES_ENV,
    load_study_parameters,
    parse_overrides,
)
from imnm.studies.registry import STUDY_NAMES, UnknownStudyError

STUDY = STUDY_NAMES[0]


def test_set_reads_values_as_toml() -> None:
    """Numbers, booleans, lists and bare words arrive typed, grouped by study."""
    assert parse_overrides([f"{STUDY}.cutoff=0.02", f"{STUDY}.flag=true",
                            f'{STUDY}.items=["a", "b"]', f"{STUDY}.word=text"]) == {
        STUDY: {"cutoff": 0.02, "flag": True, "items": ["a", "b"], "word": "text"}}


@pytest.mark.parametrize("assignment", ["cutoff=0.02", f"{STUDY}.=1", f"{STUDY}.cutoff"])
def test_set_refuses_a_malformed_assignment(assignment: str) -> None:
    """Without STUDY.NAME=VALUE the error shows the expected form."""
    with pytest.raises(ConfigurationError, match="STUDY.PARAMETER=VALUE"):
        parse_overrides([assignment])


def test_set_refuses_an_unknown_study_and_parameter() -> None:
    """An unknown study names the registered ones; an unknown parameter is named."""
    with pytest.raises(UnknownStudyError, match=STUDY):
        parse_overrides(["study_zz.cutoff=0.02"])
    with pytest.raises(ConfigurationError, match="no_such_parameter"):
        load_study_parameters(parse_overrides([f"{STUDY}.no_such_parameter=1"]))


def test_refresh_with_a_bad_override_fails_before_starting(capsys: pytest.CaptureFixture[str],
                                                           tmp_path: object) -> None:
    """`imnm refresh --set` with an unknown study is a one-line error, exit code 2."""
    assert main(["refresh", "--data-dir", str(tmp_path), "--set", "study_zz.x=1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("imnm: error:") and "study_zz" in err and STUDY in err


def test_report_offers_every_registered_study() -> None:
    """`imnm report --study` takes exactly the registered names."""
    parser = build_parser()
    assert parser.parse_args(["report", "--study", STUDY]).study == STUDY
    with pytest.raises(SystemExit):
        parser.parse_args(["report", "--study", "study_zz"])


def test_standing_overrides_file_applies_beneath_set(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    """$IMNM_STUDY_PARAMETERS_FILE's values apply to every load; `--set` wins over them; a
    missing, malformed or wrongly shaped file, or an unknown study in it, is a clear error."""
    standing = tmp_path / "standing.toml"
    standing.write_text(f"[{STUDY}]\ncutoff = 0.03\n", encoding="utf-8")
    monkeypatch.setenv(STANDING_OVERRIDES_ENV, str(standing))
    assert load_study_parameters()[STUDY].as_dict()["cutoff"] == 0.03
    assert load_study_parameters({STUDY: {"cutoff": 0.04}})[STUDY].as_dict()["cutoff"] == 0.04
    for text, error, match in (
            ("[study_zz]\ncutoff = 1\n", UnknownStudyError, STUDY),
            (f"{STUDY} = 1\n", ConfigurationError, "must be a table"),
            (f"[{STUDY}\n", ConfigurationError, "standing.toml"),
            (f"[{STUDY}]\nno_such_parameter = 1\n", ConfigurationError, "no_such_parameter")):
        standing.write_text(text, encoding="utf-8")
        with pytest.raises(error, match=match):
            load_study_parameters()
    monkeypatch.setenv(STANDING_OVERRIDES_ENV, str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigurationError, match="not a file"):
        load_study_parameters()
