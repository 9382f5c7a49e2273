"""A synthetic demo network of neuromuscular centres, delivered as real centres deliver data.

Everything this package produces is synthetic and has no clinical validity: it exists so that
the platform's ingestion, data-quality checks, scoring and study analyses have realistic input.
"""

from __future__ import annotations

from pathlib import Path

from imnm.demo.cohort import (
    DEFAULT_SITES,
    Network,
    TrainingCentre,
    simulate_network,
    simulate_training_centre,
)
from imnm.demo.defects import DefectPlan, InjectedDefect
from imnm.demo.sites import (
    DeliveryManifest,
    WrittenFile,
    write_site_extracts,
)
from imnm.demo.training_archive import (
    TrainingArchive,
    ensure_training_archive,
    read_archive_manifest,
    write_training_archive,
)
from imnm.settings import resolve_data_paths

DEFAULT_SEED = 20260101


def generate_demo(
    data_dir: Path,
    n_patients: int = 240,
    seed: int = DEFAULT_SEED,
    defects: DefectPlan | None = None,
) -> DeliveryManifest:
    """Write the demo network's deliveries into `<data_dir>/landing/`; same seed, same bytes.

    Files that already hold the intended bytes are left untouched. `defects` defaults to
    `DefectPlan()`; pass `DefectPlan.none()` for clean data.
    """
    paths = resolve_data_paths(data_dir)
    network = simulate_network(n_patients, seed, DEFAULT_SITES)
    plan = DefectPlan() if defects is None else defects
    return write_site_extracts(network, paths.landing, seed, plan)


__all__ = [
    "DEFAULT_SEED",
    "DEFAULT_SITES",
    "DefectPlan",
    "DeliveryManifest",
    "InjectedDefect",
    "Network",
    "TrainingArchive",
    "TrainingCentre",
    "WrittenFile",
    "ensure_training_archive",
    "generate_demo",
    "read_archive_manifest",
    "simulate_network",
    "simulate_training_centre",
    "write_site_extracts",
    "write_training_archive",
]
