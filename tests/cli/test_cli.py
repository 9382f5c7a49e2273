"""The `imnm` front door: its commands, a light start-up, and one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from imnm.cli import main


def _imnm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "imnm.cli", *args], capture_output=True,
                          text=True, timeout=120, env=env)


def test_help_lists_every_command() -> None:
    """Every subcommand the parser knows has its own line in `imnm --help`."""
    import argparse
    import re

    from imnm.cli import build_parser

    (subcommands,) = [action for action in build_parser()._actions
                      if isinstance(action, argparse._SubParsersAction)]
    commands = sorted(subcommands.choices)
    assert set(commands) >= {"demo-data", "refresh", "sql", "dq", "report", "model", "serve"}
    shown = _imnm("--help")
    assert shown.returncode == 0
    # Under "COMMAND" each subcommand starts a line indented by four spaces; its wrapped help
    # is indented further, and a command added without help= gets no line at all.
    listed = set(re.findall(r"^ {4}(\S+)", shown.stdout, flags=re.MULTILINE))
    for command in commands:
        assert command in listed, f"{command!r} is missing from imnm --help"


def test_start_up_imports_no_heavy_framework() -> None:
    probe = subprocess.run([sys.executable, "-c", (
        "import sys, imnm.cli; imnm.cli.build_parser(); "
        "print(sorted(m for m in ('tensorflow', 'keras', 'prefect', 'great_expectations') "
        "if m in sys.modules))")], capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "[]"


def test_sql_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "--data-dir", str(tmp_path), "SELECT 1"]) == 2
    assert "imnm refresh" in capsys.readouterr().err
    assert main(["sql", "--data-dir", str(tmp_path), "DROP TABLE results.releases"]) == 2
    assert "refused" in capsys.readouterr().err


def test_refresh_without_pseudonym_key_stops_before_loading(tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k != "IMNM_PSEUDONYM_KEY"}
    result = _imnm("refresh", "--data-dir", str(tmp_path), env=env)
    assert result.returncode == 2
    assert "IMNM_PSEUDONYM_KEY" in result.stderr
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_refresh_reports_a_broken_site_file_before_starting_prefect(tmp_path: Path) -> None:
    """A configuration error is one line naming file and key, and costs no Prefect start-up:
    the command stops before Prefect (or TensorFlow) is even imported."""
    import json
    import shutil

    repo = Path(__file__).resolve().parents[2]
    sites = tmp_path / "sites"
    shutil.copytree(repo / "config" / "sites", sites)
    broken = sites / "northgate.toml"
    broken.write_text(broken.read_text(encoding="utf-8").replace(
        'format = "philips-sierra"', 'format = "philips-xml"'), encoding="utf-8")
    # A fresh interpreter: in this one other tests may already have imported Prefect.
    probe = subprocess.run([sys.executable, "-c", (
        "import json, sys\n"
        "from imnm.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "heavy = ('prefect', 'tensorflow', 'keras', 'great_expectations')\n"
        "print(json.dumps({'code': code, 'imported': [m for m in heavy if m in sys.modules]}))\n"
    ), "refresh", "--data-dir", str(tmp_path / "data"), "--sites-dir", str(sites)],
        capture_output=True, text=True, timeout=120, cwd=repo)
    assert probe.returncode == 0, probe.stderr
    assert json.loads(probe.stdout.strip().splitlines()[-1]) == {"code": 2, "imported": []}
    error = probe.stderr
    assert "northgate.toml" in error and "kinds.ecgs.format" in error and "philips-xml" in error


def _card_only_registry(models_dir: Path) -> str:
    """A registry holding one card (list and show never open the model file)."""
    import numpy as np

    from models.registry import DEMO_CLINICAL_VALIDITY, ModelCard, summarize_training_data

    card = ModelCard(
        version="listed-v1", sha256="0" * 64, code_version="test",
        label_definition="LVEF <= 35% on the echocardiogram closest to the ECG within 14 days",
        training_data=summarize_training_data(np.zeros((2, 12, 5000), np.int16),
                                              np.array([0, 1]), np.array(["a", "b"]),
                                              synthetic=True),
        metrics={"test_auc": 0.81, "test_auc_ci_low": 0.7, "test_auc_ci_high": 0.92},
        intended_use="test", clinical_validity=DEMO_CLINICAL_VALIDITY)
    (models_dir / "listed-v1").mkdir(parents=True)
    (models_dir / "listed-v1" / "card.json").write_text(card.to_json(), encoding="utf-8")
    (models_dir / "CURRENT").write_text("listed-v1\n", encoding="utf-8")
    return "listed-v1"


def test_model_list_and_show_import_no_framework(tmp_path: Path) -> None:
    _card_only_registry(tmp_path / "models")
    probe = subprocess.run([sys.executable, "-c", (
        "import sys; from imnm.cli import main; "
        f"main(['model', 'list', '--data-dir', {str(tmp_path)!r}]); "
        f"main(['model', 'show', 'listed-v1', '--data-dir', {str(tmp_path)!r}]); "
        "print(sorted(m for m in ('tensorflow', 'keras', 'prefect') if m in sys.modules))")],
        capture_output=True, text=True, check=True, timeout=120)
    assert probe.stdout.rstrip().endswith("[]")
    assert "* listed-v1  (current)" in probe.stdout
    assert "AUC 0.810 (0.700 to 0.920) [DeLong]" in probe.stdout
    assert "sensitivity n/a" in probe.stdout  # a card without these metrics still lists
    assert '"version": "listed-v1"' in probe.stdout


def test_model_command_errors_are_one_line(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["model", "train", "--ecgs", "100", "--data-dir", str(tmp_path)]) == 2
    assert "--demo-archive" in capsys.readouterr().err
    assert main(["model", "use", "missing-v1", "--data-dir", str(tmp_path)]) == 2
    assert "no model version 'missing-v1'" in capsys.readouterr().err
    assert main(["model", "show", "../escape", "--data-dir", str(tmp_path)]) == 2
    assert "invalid model version" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["model", "train", "--warehouse", "w.duckdb", "--demo-archive"])


def test_model_use_refuses_a_model_for_other_input(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import json

    version = _card_only_registry(tmp_path / "models")
    card_path = tmp_path / "models" / version / "card.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card["input_contract"]["preprocessing_version"] = "old_v1"
    card_path.write_text(json.dumps(card), encoding="utf-8")
    (tmp_path / "models" / "CURRENT").unlink()
    assert main(["model", "use", version, "--data-dir", str(tmp_path)]) == 2
    assert "preprocessing_version" in capsys.readouterr().err
    assert not (tmp_path / "models" / "CURRENT").exists()


def test_training_label_choices_match_the_training_set() -> None:
    from imnm.cli import TRAINING_LABELS
    from tasks.training_set import LABELS

    assert set(TRAINING_LABELS) == set(LABELS)
