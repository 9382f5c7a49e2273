"""The `imnm` command: the platform's front door.

Start-up stays light: TensorFlow, Prefect and Great Expectations are imported only by the
commands that need them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from imnm.settings import (
    CONFIG_DIR,
    ConfigurationError,
    DataPaths,
    pseudonym_key,
    resolve_data_paths,
)
from imnm.siteconfig import load_site_configs, load_vocabularies

DEFAULT_CRON = "0 2 * * *"


# Prefect defaults for a command-line run: its state under the data directory, a patient
# start-up of the temporary API server on a busy machine, and no usage telemetry.
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_UI_ENABLED": "false",
}


def _paths(args: argparse.Namespace) -> DataPaths:
    """The data directory, with Prefect's environment defaults set before Prefect is imported."""
    paths = resolve_data_paths(args.data_dir)
    paths.root.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(paths.root / ".prefect"))
    for name, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(name, value)
    return paths


def cmd_demo_data(args: argparse.Namespace) -> int:
    from imnm.demo import generate_demo

    paths = _paths(args)
    manifest = generate_demo(paths.root, n_patients=args.patients, seed=args.seed)
    print(f"Synthetic demo network written to {paths.landing} ({manifest})")
    return 0


def cmd_refresh(args: argparse.Namespace) -> int:
    # Fail before Prefect starts when the key is missing or a configuration file is wrong.
    pseudonym_key()
    load_site_configs(Path(args.sites_dir) if args.sites_dir else CONFIG_DIR / "sites")
    load_vocabularies(CONFIG_DIR / "vocabularies.toml")
    paths = _paths(args)
    from flows.refresh import refresh
    from tasks.summary import format_summary

    summary = refresh(data_dir=str(paths.root), sites_dir=args.sites_dir,
                      lvd_cutoff=args.cutoff, retry_quarantined=args.retry_quarantined)
    print(format_summary(summary))
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    import duckdb

    from imnm.sql_console import run_query

    paths = resolve_data_paths(args.data_dir)
    database = paths.warehouse if args.warehouse else paths.results
    try:
        shown = run_query(database, args.query, max_rows=args.max_rows,
                          csv=Path(args.csv) if args.csv else None,
                          parquet=Path(args.parquet) if args.parquet else None)
    except duckdb.IOException as exc:
        raise ValueError(f"{database} cannot be opened now ({exc}); the published results "
                         "file is always readable: drop --warehouse") from exc
    except duckdb.Error as exc:
        raise ValueError(str(exc)) from exc
    print(shown, end="")
    return 0


def cmd_dq(args: argparse.Namespace) -> int:
    """Print a release's data-quality summary and where its report and Data Docs are."""
    from tasks.dq_report import dq_summary

    paths = resolve_data_paths(args.data_dir)
    print(dq_summary(paths, args.release))
    if args.recall:
        from tasks.defect_recall import demo_recall, format_recall

        report = demo_recall(paths)
        print()
        print(format_recall(report) if report else
              "No demo defect manifest here: recall is measured on demo data only.")
    return 0


def cmd_model_train(args: argparse.Namespace) -> int:
    paths = _paths(args)
    from flows.train_model import train_demo_model

    if args.if_missing:
        from models.registry import ModelRegistry, RegistryError

        try:
            current = ModelRegistry(paths.models).current().version
            print(f"Current model: {current} (not retrained)")
            return 0
        except RegistryError:
            pass
    registered = train_demo_model(data_dir=str(paths.root), n_ecgs=args.ecgs,
                                  epochs=args.epochs, seed=args.seed)
    print(f"Registered and set current: {registered}")
    return 0


def cmd_model_list(args: argparse.Namespace) -> int:
    from models.registry import ModelRegistry, RegistryError

    registry = ModelRegistry(resolve_data_paths(args.data_dir).models)
    try:
        current = registry.current().version
    except RegistryError:
        current = None
    models = registry.list()
    if not models:
        print("no models registered: run `imnm model train`")
    for model in models:
        marker = "*" if model.version == current else " "
        print(f"{marker} {model.version}  sha256 {model.card.sha256[:16]}  "
              f"created {model.card.created_at}")
    return 0


def cmd_model_import(args: argparse.Namespace) -> int:
    from models.registry import ModelRegistry, RegistryError

    registry = ModelRegistry(resolve_data_paths(args.data_dir).models)
    if args.if_missing:
        try:
            print(f"Current model: {registry.current().version} (nothing imported)")
            return 0
        except RegistryError:
            pass
    try:
        registered = registry.import_artifact(Path(args.model_file), Path(args.card))
    except RegistryError as exc:
        raise ValueError(str(exc)) from exc
    if args.set_current or args.if_missing:
        registry.set_current(registered.version)
    print(f"Imported {registered.version} (sha256 {registered.card.sha256[:16]}...)"
          f"{' and set current' if args.set_current or args.if_missing else ''}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    paths = _paths(args)
    from flows.deployments import serve_refresh

    serve_refresh(cron=args.cron, data_dir=str(paths.root))
    return 0


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="data directory (default: $IMNM_DATA_DIR or ./data)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="imnm", description="Multicentre IMNM cardiac data platform (demo models and "
        "synthetic data are not clinically valid).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo-data", help="write the synthetic demo network's extracts")
    _add_data_dir(demo)
    demo.add_argument("--patients", type=int, default=240, help="cohort size (default 240)")
    demo.add_argument("--seed", type=int, default=20260101)
    demo.set_defaults(handler=cmd_demo_data)

    refresh = commands.add_parser("refresh", help="load new extracts, score, analyse, publish")
    _add_data_dir(refresh)
    refresh.add_argument("--sites-dir", help="site configuration folder (default config/sites)")
    refresh.add_argument("--cutoff", type=float, default=0.01,
                         help="P(LVD) cutoff of study A (default 0.01, the published 1%%)")
    refresh.add_argument("--retry-quarantined", action="store_true",
                         help="stage again files quarantined earlier whose content is still "
                              "landed (after fixing a site configuration)")
    refresh.set_defaults(handler=cmd_refresh)

    sql = commands.add_parser("sql", help="run a read-only query on the published results")
    _add_data_dir(sql)
    sql.add_argument("query", help='e.g. "SELECT * FROM results.study_a_accuracy"')
    sql.add_argument("--warehouse", action="store_true",
                     help="query the working warehouse (staging, core, audit) instead")
    sql.add_argument("--csv", help="also write the result to this CSV file")
    sql.add_argument("--parquet", help="also write the result to this Parquet file")
    sql.add_argument("--max-rows", type=int, default=40, help="rows shown (default 40)")
    sql.set_defaults(handler=cmd_sql)

    dq = commands.add_parser("dq", help="data-quality summary of the latest release and the paths "
                             "of its HTML report and Data Docs")
    _add_data_dir(dq)
    dq.add_argument("--release", help="release id (default: the latest release)")
    dq.add_argument("--recall", action="store_true",
                    help="also print the checks' recall on the demo's injected defects")
    dq.set_defaults(handler=cmd_dq)

    model = commands.add_parser("model", help="train and list AI-ECG models")
    model_commands = model.add_subparsers(dest="model_command", required=True, metavar="ACTION")
    train = model_commands.add_parser("train", help="train the demo model on the synthetic "
                                      "training centre and make it current")
    _add_data_dir(train)
    train.add_argument("--ecgs", type=int, default=3000, help="training-centre ECGs")
    train.add_argument("--epochs", type=int, default=10)
    train.add_argument("--seed", type=int, default=7)
    train.add_argument("--if-missing", action="store_true",
                       help="do nothing when a current model is already registered")
    train.set_defaults(handler=cmd_model_train)
    importing = model_commands.add_parser(
        "import", help="register a model file with its card (contract and sha256 checked)")
    _add_data_dir(importing)
    importing.add_argument("model_file", help="the .keras file")
    importing.add_argument("--card", required=True, help="its card.json")
    importing.add_argument("--set-current", action="store_true", help="make it current")
    importing.add_argument("--if-missing", action="store_true",
                           help="only when no model is current (then it becomes current)")
    importing.set_defaults(handler=cmd_model_import)
    listing = model_commands.add_parser("list", help="list registered models (* = current)")
    _add_data_dir(listing)
    listing.set_defaults(handler=cmd_model_list)

    serve = commands.add_parser("serve", help="serve the refresh deployment on a cron schedule")
    _add_data_dir(serve)
    serve.add_argument("--cron", default=DEFAULT_CRON, help=f"default {DEFAULT_CRON!r}")
    serve.set_defaults(handler=cmd_serve)
    return parser


EXPECTED_ERRORS: tuple[type[BaseException], ...] = (ConfigurationError, FileNotFoundError,
                                                    ValueError)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen command; expected errors print one line."""
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except EXPECTED_ERRORS as exc:
        print(f"imnm: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
