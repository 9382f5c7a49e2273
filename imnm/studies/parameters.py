"""Every registered study's parameters for one refresh: each study's config file, with the
overrides given as `STUDY.NAME=VALUE` (`imnm refresh --set study_x.cutoff=0.02`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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


def load_study_parameters(overrides: Mapping[str, Mapping[str, Any]] | None = None
                          ) -> dict[str, StudyParameters]:
    """{study: its parameters} for every registered study, `overrides` applied."""
    overrides = dict(overrides or {})
    for study in overrides:
        get_study(study)
    return {study.name: study.parameters(overrides.get(study.name))
            for study in all_studies()}


def recorded_parameters(params: Mapping[str, StudyParameters]) -> dict[str, dict[str, Any]]:
    """What a release and its audit run record: {study: parameters as plain values}."""
    return {name: p.as_dict() for name, p in params.items()}
