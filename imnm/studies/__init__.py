"""The studies the platform reproduces, each a registered package of the same shape
(`base.py` describes the shape, `registry.py` lists the studies)."""

from imnm.studies.base import ResultTable, Study, StudyParameters, StudyResults
from imnm.studies.registry import STUDY_NAMES, UnknownStudyError, all_studies, get_study

__all__ = [
    "STUDY_NAMES",
    "ResultTable",
    "Study",
    "StudyParameters",
    "StudyResults",
    "UnknownStudyError",
    "all_studies",
    "get_study",
]
