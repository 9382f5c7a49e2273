"""Which registered AI-ECG model a run scores with."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from imnm.settings import ConfigurationError, DataPaths


@task(name="choose model", cache_policy=NO_CACHE)
def current_model_version(paths: DataPaths) -> str:
    """The registry's current model version; a clear error when none is registered."""
    from models.registry import ModelRegistry, RegistryError

    try:
        return ModelRegistry(paths.models).current().version
    except RegistryError as exc:
        raise ConfigurationError(
            f"no current AI-ECG model in {paths.models}: train the demo model with "
            "`imnm model train` or import one with `imnm model import`") from exc
