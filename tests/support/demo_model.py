"""The committed demo model, imported into a test network's registry and made current."""

from __future__ import annotations

from pathlib import Path

from imnm.settings import DataPaths

DEMO_ARTIFACTS = Path(__file__).resolve().parents[2] / "models" / "demo_artifact"


def install_demo_model(paths: DataPaths) -> str:
    """Import the committed demo model (synthetic training data, not clinically valid) into
    `paths`' registry, make it current, and return its version."""
    from models.registry import ModelRegistry

    artifact = next(p for p in sorted(DEMO_ARTIFACTS.iterdir()) if p.is_dir())
    registry = ModelRegistry(paths.models)
    version = registry.import_artifact(artifact / "model.keras", artifact / "card.json").version
    registry.set_current(version)
    return version
