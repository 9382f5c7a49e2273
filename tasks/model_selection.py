"""Which registered AI-ECG model a run scores with."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from imnm.settings import DataPaths


@task(name="choose model", cache_policy=NO_CACHE)
def current_model_version(paths: DataPaths) -> str:
    """The registry's current model version; a clear error saying what to run when none is."""
    from models.registry import current_version_or_advice

    return current_version_or_advice(paths.models)
