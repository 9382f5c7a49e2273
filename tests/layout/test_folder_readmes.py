"""Every top-level folder says, in a README, what lives there and what it may import."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TOP_LEVEL = ("benchmarks", "config", "docs", "expectations", "flows", "imnm", "models", "tasks",
             "tests", "warehouse")


def test_every_top_level_folder_has_a_readme_naming_its_imports() -> None:
    missing = [name for name in TOP_LEVEL if not (REPO_ROOT / name / "README.md").is_file()]
    assert missing == []
    silent = [name for name in TOP_LEVEL
              if "import" not in (REPO_ROOT / name / "README.md").read_text(encoding="utf-8")]
    assert silent == []


def test_the_list_of_top_level_folders_is_whole() -> None:
    """A new top-level package folder is added to TOP_LEVEL (and given a README)."""
    folders = {p.name for p in REPO_ROOT.iterdir() if p.is_dir()
               and not p.name.startswith(".") and (p / "__init__.py").is_file()}
    assert folders - set(TOP_LEVEL) == set()
