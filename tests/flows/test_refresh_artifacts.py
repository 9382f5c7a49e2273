"""A refresh leaves its artifacts in Prefect: the summary, the per-centre data-quality table
and links to the release's reports (files that exist)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

from imnm.refresh.artifacts import DATA_QUALITY_KEY, REPORT_KEY_PREFIX, SUMMARY_KEY
from imnm.studies.registry import all_studies


def _artifacts(keys: list[str]) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        return client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys)),
            sort=ArtifactSort.UPDATED_DESC, limit=200, offset=0)


def test_a_refresh_leaves_its_summary_table_and_report_links(demo_network: Any) -> None:
    release = demo_network.release_id
    summaries = [a for a in _artifacts([SUMMARY_KEY]) if release in (a.description or "")]
    assert summaries and f"Release: new release {release}" in summaries[0].data
    (table,) = [a for a in _artifacts([DATA_QUALITY_KEY]) if release in (a.description or "")]
    rows = json.loads(table.data)
    assert sorted(r["centre"] for r in rows) == sorted(
        p.name for p in demo_network.paths.landing.iterdir() if p.is_dir())
    assert all(r["checks run"] > 0 and r["checks failed"] <= r["checks run"] for r in rows)
    keys = [f"{REPORT_KEY_PREFIX}data-quality", f"{REPORT_KEY_PREFIX}data-docs",
            *(f"{REPORT_KEY_PREFIX}{s.name.replace('_', '-')}" for s in all_studies())]
    links = {a.key: a for a in _artifacts(keys) if release in (a.description or "")}
    assert sorted(links) == sorted(keys)
    for link in links.values():
        path = Path(url2pathname(urlparse(link.data.split("](")[-1].rstrip(")")).path))
        assert path.is_file() and release in str(path), link.data
