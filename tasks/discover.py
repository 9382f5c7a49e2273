"""Discover: find the files in each site's landing folder that the warehouse has not loaded.

Idempotent: a file whose content (sha256) is already registered for its site is skipped; a
file registered by a run that died before staging it is picked up again. New content under a
name the site delivered before is a corrected re-delivery: it is registered with a link to
the delivery it corrects, which it supersedes once it stages (see `tasks.harmonize`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from imnm.refresh.context import RunContext
from imnm.refresh.retries import IO_RETRIES
from imnm.siteconfig import KindMapping, SiteConfig
from warehouse.db import open_warehouse, sql, transaction

_CHUNK = 1 << 20


@dataclass(frozen=True)
class LandedFile:
    """A delivery unit in the landing zone: one file, or a WFDB header with its signal files."""

    site: str
    record_kind: str
    relative_path: str
    parts: tuple[Path, ...]

    @property
    def path(self) -> Path:
        return self.parts[0]


@dataclass(frozen=True)
class RegisteredFile:
    """A landed file that this run must stage."""

    file_id: int
    site: str
    record_kind: str
    relative_path: str
    sha256: str
    path: Path
    supersedes_file_id: int | None = None


def content_sha256(parts: tuple[Path, ...]) -> tuple[str, int]:
    """sha256 and total size over the parts' bytes, streamed in 1 MiB chunks."""
    digest = hashlib.sha256()
    size = 0
    for part in parts:
        with part.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
    return digest.hexdigest(), size


def _wfdb_parts(header: Path) -> tuple[Path, ...]:
    """A WFDB record's header followed by the signal files it names (sorted, existing)."""
    signal_files = set()
    for line in header.read_text(encoding="latin-1").splitlines()[1:]:
        if line and not line.startswith("#"):
            candidate = header.parent / line.split()[0]
            if candidate.is_file():
                signal_files.add(candidate)
    return (header, *sorted(signal_files))


def landed_files(landing_root: Path, config: SiteConfig) -> Iterator[LandedFile]:
    """Every file matching one of the site's patterns, in a stable order."""
    site_root = landing_root / config.site
    if not site_root.is_dir():
        return
    for mapping in config.kinds.values():
        for path in sorted(site_root.glob(mapping.pattern)):
            if path.is_file():
                yield _landed(site_root, config.site, mapping, path)


def _landed(site_root: Path, site: str, mapping: KindMapping, path: Path) -> LandedFile:
    parts = _wfdb_parts(path) if mapping.format == "wfdb" else (path,)
    return LandedFile(site, mapping.kind, path.relative_to(site_root).as_posix(), parts)


def unmatched_files(landing_root: Path, config: SiteConfig, landed: list[LandedFile]
                    ) -> list[str]:
    """Files in the site's folder that none of its `landed` files claims (reported, never
    silently ignored); `landed` is the listing already made, so WFDB headers are read once."""
    site_root = landing_root / config.site
    if not site_root.is_dir():
        return []
    claimed = {part for file in landed for part in file.parts}
    return sorted(p.relative_to(site_root).as_posix() for p in site_root.rglob("*")
                  if p.is_file() and p not in claimed)


def register_landed(con: duckdb.DuckDBPyConnection, ctx: RunContext, landed: LandedFile,
                    retry_quarantined: bool = False) -> RegisteredFile | None:
    """Register a new file, or return None for content this site already delivered.

    With `retry_quarantined`, content quarantined earlier is staged again (same file id),
    e.g. after a site configuration was fixed.
    """
    sha256, size = content_sha256(landed.parts)
    existing = con.execute(sql("select_source_file_by_content"), [landed.site, sha256]).fetchone()
    now = datetime.now(UTC).replace(tzinfo=None)
    retry = retry_quarantined and existing is not None and existing[1] == "quarantined"
    if existing is not None and existing[1] != "discovered" and not retry:
        con.execute(sql("insert_file_event"), [
            ctx.run_id, landed.site, landed.relative_path, existing[0], sha256,
            "skipped_already_loaded", f"same content as file {existing[0]} ({existing[1]})", now])
        return None
    if existing is None:
        received = datetime.fromtimestamp(landed.path.stat().st_mtime, UTC).replace(tzinfo=None)
        earlier = con.execute(sql("select_file_in_effect_by_path"),
                              [landed.site, landed.relative_path]).fetchone()
        file_id = con.execute(sql("insert_source_file"), [
            landed.site, landed.record_kind, landed.relative_path, sha256, size, received, now,
            ctx.run_id]).fetchone()[0]
        reason, supersedes = None, None
        if earlier is not None:
            supersedes = earlier[0]
            con.execute(sql("update_source_file_supersedes"), [supersedes, file_id])
            reason = f"corrected re-delivery of file {supersedes} ({earlier[1]}): same name"
    else:
        file_id, supersedes = existing[0], existing[2]
        reason = ("retrying a quarantined file" if retry
                  else "re-staging after an interrupted run")
    con.execute(sql("insert_file_event"), [
        ctx.run_id, landed.site, landed.relative_path, file_id, sha256, "registered", reason, now])
    return RegisteredFile(file_id, landed.site, landed.record_kind, landed.relative_path,
                          sha256, landed.path, supersedes)


@task(name="discover new files", cache_policy=NO_CACHE, **IO_RETRIES)
def discover_new_files(ctx: RunContext, retry_quarantined: bool = False
                       ) -> list[RegisteredFile]:
    """Register every landed file not loaded before; return them for staging."""
    logger = get_run_logger()
    registered: list[RegisteredFile] = []
    with open_warehouse(ctx.paths.warehouse) as con:
        for config in ctx.sites:
            # One transaction per site: a commit per file would dominate large ECG archives,
            # and a run that dies mid-site registers that site's files again next time.
            with transaction(con):
                site_files = list(landed_files(ctx.paths.landing, config))
                for landed in site_files:
                    new = register_landed(con, ctx, landed, retry_quarantined)
                    if new is not None:
                        registered.append(new)
                for orphan in unmatched_files(ctx.paths.landing, config, site_files):
                    reason = f"matches no record kind pattern in {config.path.name}; not loaded"
                    con.execute(sql("insert_file_event"), [
                        ctx.run_id, config.site, orphan, None, None, "not_claimed", reason,
                        datetime.now(UTC).replace(tzinfo=None)])
                    logger.warning("%s: %s %s", config.site, orphan, reason)
    logger.info("discovered %d new file(s)", len(registered))
    return registered
