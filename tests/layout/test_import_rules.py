"""What may import what: no import circle anywhere, and every import between the platform's
packages allowed by the table in docs/architecture.md ("Code layout")."""

from __future__ import annotations

import re

import pytest

from tests.layout.imports import PACKAGES, REPO_ROOT, Import, cycles, platform_imports

ARCHITECTURE = REPO_ROOT / "docs" / "architecture.md"
# The command line is the front door: it may reach any layer, always lazily (start-up stays
# light); the tests check that it does so inside functions only.
FRONT_DOOR = "imnm.cli"


def allowed_imports() -> dict[str, set[str]]:
    """package -> the packages it may import, read from the layout table's last column."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    table: dict[str, set[str]] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3:
            continue
        folder = re.fullmatch(r"`([a-z_]+)/`", cells[0])
        if folder and folder.group(1) in PACKAGES:
            table[folder.group(1)] = set(re.findall(r"`([a-z_]+)`", cells[-1]))
    return table


def test_the_table_names_every_package() -> None:
    """docs/architecture.md has a row for each package, so none is unchecked."""
    assert set(allowed_imports()) == set(PACKAGES)


def test_the_import_graph_is_read() -> None:
    """The reader sees the imports that are there (a blind reader would pass everything)."""
    imports = platform_imports()
    assert Import("flows.refresh", "tasks.publish", _line("flows/refresh.py",
                                                          "from tasks.publish"), False) in imports
    assert any(i.module == "imnm.cli" and i.imported == "flows.refresh" and i.lazy
               for i in imports)
    assert cycles([Import("a.x", "a.y", 1, False), Import("a.y", "a.x", 1, True)]) == [
        ["a.x", "a.y"]]


def _line(path: str, start: str) -> int:
    lines = (REPO_ROOT / path).read_text(encoding="utf-8").splitlines()
    return next(n for n, text in enumerate(lines, start=1) if text.startswith(start))


def test_no_import_circle() -> None:
    """No module reaches itself through imports, lazy ones included."""
    assert cycles(platform_imports()) == []


@pytest.mark.parametrize("package", PACKAGES)
def test_packages_import_only_what_the_table_allows(package: str) -> None:
    """Each import between packages is one the architecture table allows."""
    allowed = allowed_imports()[package] | {package}
    wrong = [f"{i.module}:{i.line} imports {i.imported}" for i in platform_imports()
             if i.module.split(".")[0] == package and i.module != FRONT_DOOR
             and i.imported.split(".")[0] not in allowed]
    assert wrong == []


def test_the_command_line_reaches_other_layers_lazily() -> None:
    """`imnm` imports flows, tasks and models only inside the command that needs them."""
    eager = [f"{i.imported} (line {i.line})" for i in platform_imports()
             if i.module == FRONT_DOOR and not i.lazy
             and i.imported.split(".")[0] not in {"imnm", "warehouse"}]
    assert eager == []


def test_tasks_hold_only_prefect_task_shells() -> None:
    """Every module in tasks/ defines at least one Prefect task (pure rules live in imnm/)."""
    shells = sorted((REPO_ROOT / "tasks").glob("*.py"))
    without = [p.name for p in shells if p.name != "__init__.py"
               and "@task(" not in p.read_text(encoding="utf-8")]
    assert without == []


def test_validation_does_not_import_the_report_stage() -> None:
    """The validate stages reach the GX result store, never the report that reads it."""
    wrong = [f"{i.module} imports {i.imported}" for i in platform_imports()
             if i.module in {"tasks.validate", "tasks.validate_core"}
             and (i.imported.startswith("imnm.dq_report") or i.imported == "tasks.dq_report")]
    assert wrong == []
