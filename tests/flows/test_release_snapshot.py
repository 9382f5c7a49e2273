"""The released tables of the demo network are the same, number for number, as the golden
snapshot taken from the platform before its layout changed (release ids, run ids and times
excluded; the Bayesian engine's numbers, which differ between CPUs by Monte Carlo error, left
out as `tests/support/release_snapshot.py` says). A change that moves any released number
fails here.

When a change is meant to move released numbers, regenerate the snapshot and say why in the
commit:

    python -m tests.support.release_snapshot write <data>/published.duckdb \
        tests/data/release_snapshot.json

with <data> the `demo_network` fixture's refresh (200 patients, seed 5, the committed demo
model, the tests' pseudonym key).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import DemoNetwork
from tests.support.release_snapshot import differences, take_snapshot

GOLDEN = Path(__file__).resolve().parent / "data" / "release_snapshot.json"


def test_release_matches_the_golden_snapshot(demo_network: DemoNetwork) -> None:
    """Every released table, the row counts, sites and data-quality outcomes are unchanged."""
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    actual = take_snapshot(demo_network.paths.results, demo_network.release_id)
    assert set(actual["tables"]) == set(expected["tables"])
    assert sum(len(rows) for rows in actual["tables"].values()) > 500
    assert differences(expected, actual) == []


def test_the_comparison_sees_a_moved_number(demo_network: DemoNetwork) -> None:
    """The comparison is not blind: one released number changed is one difference."""
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    changed = json.loads(json.dumps(expected))
    table, rows = next((name, rows) for name, rows in sorted(changed["tables"].items())
                       if rows and any(isinstance(v, float) for v in rows[0].values()))
    column = next(c for c, v in sorted(rows[0].items()) if isinstance(v, float) and v)
    rows[0][column] *= 1 + 1e-4
    found = differences(expected, changed)
    assert len(found) == 1 and table in found[0] and column in found[0]
