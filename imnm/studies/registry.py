"""The registry of studies: the one place outside a study's own folders that names it.

Every stage that handles studies (analyse, publish, report, the refresh summary, `imnm report`)
loops over `all_studies()`. Adding a study is one line here plus its folders (see
docs/architecture.md, "Adding a study").
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Final

from imnm.studies.base import Study

# Registered studies, in the order the summary and reports show them.
STUDY_NAMES: Final[tuple[str, ...]] = ("study_a", "study_b")


class UnknownStudyError(KeyError):
    """A study name that is not registered; the message lists the registered ones."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@cache
def get_study(name: str) -> Study:
    """The registered study `name` (its package's STUDY); unknown names raise and list the
    known ones."""
    if name not in STUDY_NAMES:
        raise UnknownStudyError(f"no study named {name!r}; registered studies: "
                                f"{', '.join(STUDY_NAMES)}")
    study = importlib.import_module(f"imnm.studies.{name}").STUDY
    if not isinstance(study, Study) or study.name != name:
        raise TypeError(f"imnm.studies.{name}.STUDY must be the Study named {name!r}")
    return study


def all_studies() -> tuple[Study, ...]:
    """Every registered study, in registry order."""
    return tuple(get_study(name) for name in STUDY_NAMES)
