"""Every registered study's parameters for one refresh: each study's config file, with the
overrides given as `STUDY.NAME=VALUE` (`imnm refresh --set study_x.cutoff=0.02`) on top of any
standing overrides in the TOML file `$IMNM_STUDY_PARAMETERS_FILE` names."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from imnm.settings import ConfigurationError
from imnm.studies.base import StudyParameters
from imnm.studies.registry import all_studies, get_study
from imnm.typed_settings import parse_toml_value

StudyOverrides = dict[str, dict[str, Any]]


def parse_overrides(assignments: Iterable[str]) -> StudyOverrides:
    """`["study.name=value", ...]` -> {study: {name: value}}; values are read as TOML values
    (0.02, true, ["a", "b"]); an unknown study raises and lists the registered ones."""
    overrides: StudyOverrides = {}
    for assignment in assignments:
        target, sep, text = assignment.partition("=")
        study, dot, name = target.strip().partition(".")
        if not (sep and dot and study and name.strip()):
            raise ConfigurationError(f"--set {assignment!r}: expected STUDY.PARAMETER=VALUE, "
                                     "e.g. --set <study>.cutoff=0.02")
        get_study(study)  # unknown -> UnknownStudyError listing the known studies
        overrides.setdefault(study, {})[name.strip()] = parse_toml_value(text.strip())
    return overrides


# A TOML file of study parameter overrides (`[study_x]` then `name = value`) that every refresh
# of a process with this variable set applies beneath `--set`: a deployment's standing choices,
# or a quicker profile for a test suite.
STANDING_OVERRIDES_ENV = "IMNM_STUDY_PARAMETERS_FILE"


def standing_overrides() -> StudyOverrides:
    """The overrides of the file `$IMNM_STUDY_PARAMETERS_FILE` names ({} when unset)."""
    named = os.environ.get(STANDING_OVERRIDES_ENV, "").strip()
    if not named:
        return {}
    path = Path(named)
    if not path.is_file():
        raise ConfigurationError(f"${STANDING_OVERRIDES_ENV} names {named}, which is not a "
                                 "file")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"{named} (${STANDING_OVERRIDES_ENV}): {exc}") from None
    overrides: StudyOverrides = {}
    for study, values in raw.items():
        get_study(study)  # unknown -> UnknownStudyError listing the known studies
        if not isinstance(values, dict):
            raise ConfigurationError(f"{named} (${STANDING_OVERRIDES_ENV}): [{study}] must be "
                                     "a table of parameter = value")
        overrides[study] = dict(values)
    return overrides


def load_study_parameters(overrides: Mapping[str, Mapping[str, Any]] | None = None
                          ) -> dict[str, StudyParameters]:
    """{study: its parameters} for every registered study: the standing overrides, then
    `overrides`, applied to each study's config file."""
    given = dict(overrides or {})
    for study in given:
        get_study(study)
    merged = standing_overrides()
    for study, values in given.items():
        merged[study] = {**merged.get(study, {}), **values}
    return {study.name: study.parameters(merged.get(study.name)) for study in all_studies()}


def recorded_parameters(params: Mapping[str, StudyParameters]) -> dict[str, dict[str, Any]]:
    """What a release and its audit run record: {study: parameters as plain values}."""
    return {name: p.as_dict() for name, p in params.items()}
