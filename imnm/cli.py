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
from typing import TYPE_CHECKING

from imnm.refresh.lock import RefreshRunningError, check_no_refresh_running
from imnm.refresh.preflight import check_something_delivered
from imnm.settings import (
    CONFIG_DIR,
    ConfigurationError,
    DataPaths,
    pseudonym_key,
    resolve_data_paths,
)
from imnm.siteconfig import load_site_configs, load_vocabularies
from imnm.studies.parameters import load_study_parameters, parse_overrides
from imnm.studies.registry import STUDY_NAMES, UnknownStudyError, all_studies, get_study

if TYPE_CHECKING:
    from models.registry import ModelCard

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
    overrides = parse_overrides(args.set)
    load_study_parameters(overrides)
    paths = _paths(args)
    check_no_refresh_running(paths.root)
    check_something_delivered(paths)
    from models.registry import current_version_or_advice

    current_version_or_advice(paths.models)  # before Prefect and TensorFlow start
    from flows.refresh import refresh
    from imnm.refresh.summary import format_summary

    summary = refresh(data_dir=str(paths.root), sites_dir=args.sites_dir,
                      study_parameters=overrides, retry_quarantined=args.retry_quarantined)
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
    from imnm.dq_report.write import dq_summary

    paths = resolve_data_paths(args.data_dir)
    print(dq_summary(paths, args.release))
    if args.recall:
        from imnm.demo.recall import demo_recall, format_recall

        report = demo_recall(paths)
        print()
        print(format_recall(report) if report else
              "No demo defect manifest here: recall is measured on demo data only.")
    return 0


def _study_name(value: str) -> str:
    """A registered study's name from its name or its short form (the part after "study_")."""
    for name in STUDY_NAMES:
        if value in (name, name.removeprefix("study_")):
            return name
    raise argparse.ArgumentTypeError(f"no study {value!r}; registered: {', '.join(STUDY_NAMES)}")


def cmd_report(args: argparse.Namespace) -> int:
    """Print the paths of a release's study reports (each written first when missing) and
    open them: one study with --study, else every registered study."""
    from imnm.studies.reports import write_study_report
    from models.registry import card_says_synthetic

    paths = resolve_data_paths(args.data_dir)
    studies = (get_study(args.study),) if args.study else all_studies()
    pages = [write_study_report(paths, study, args.release, overwrite=False,
                                card_lookup=lambda v: card_says_synthetic(paths.models, v)).html
             for study in studies]
    for page in pages:
        print(page)
    if not args.no_open and not all(_open_in_browser(page) for page in pages):
        print("No browser to open it here: open the file above.", file=sys.stderr)
    return 0


def _open_in_browser(page: Path) -> bool:
    """Open a local page in a graphical browser; False where there is none (no display)."""
    import webbrowser

    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                 or os.environ.get("WAYLAND_DISPLAY")):
        return False  # webbrowser would fall back to a text browser in this terminal
    try:
        return webbrowser.open(page.resolve().as_uri())
    except webbrowser.Error:
        return False


TRAINING_LABELS = ("ef_le_35", "lvd_broad")  # tasks.training_set.LABELS, without importing it
DEMO_ARCHIVE_ECGS = 3000


def cmd_model_train(args: argparse.Namespace) -> int:
    """Train, evaluate and register a model from a warehouse or the demo training archive."""
    if args.ecgs is not None and not args.demo_archive:
        raise ValueError("--ecgs sets the size of the demo archive: use it with --demo-archive")
    paths = _paths(args)
    if args.if_missing:
        current = _usable_current_model(paths)
        if current is not None:
            print(f"Current model: {current} (not retrained)")
            return 0
    from flows.train_model import train_demo_model, train_model
    from tasks.training_set import WarehouseBusyError

    try:
        if args.demo_archive:
            version = train_demo_model(
                data_dir=str(paths.root), n_ecgs=args.ecgs or DEMO_ARCHIVE_ECGS,
                epochs=args.epochs, seed=args.seed, label=args.label,
                pair_window_days=args.window_days, set_current=args.set_current)
        else:
            version = train_model(
                data_dir=str(paths.root), warehouse=args.warehouse, label=args.label,
                pair_window_days=args.window_days, epochs=args.epochs, seed=args.seed,
                set_current=args.set_current, synthetic=True if args.synthetic_data else None)
    except WarehouseBusyError as exc:
        raise ValueError(str(exc)) from exc
    print(f"Registered {version}{' and set it current' if args.set_current else ''}")
    return 0


def cmd_model_list(args: argparse.Namespace) -> int:
    """Every registered version, the current one marked, each with its card's summary."""
    from models.registry import ModelRegistry, RegistryError

    registry = ModelRegistry(resolve_data_paths(args.data_dir).models)
    try:
        current = registry.current().version
    except RegistryError:
        current = None
    models = registry.list()
    if not models:
        print("no models registered: run `imnm model train` or `imnm model import`")
    for model in models:
        marker = "*" if model.version == current else " "
        print(f"{marker} {model.version}{'  (current)' if marker == '*' else ''}")
        for line in card_summary(model.card):
            print(f"    {line}")
    return 0


def cmd_model_show(args: argparse.Namespace) -> int:
    """Print one version's whole card (JSON)."""
    from models.registry import ModelRegistry, RegistryError

    try:
        registered = ModelRegistry(resolve_data_paths(args.data_dir).models).get(args.version)
    except RegistryError as exc:
        raise ValueError(str(exc)) from exc
    print(registered.card.to_json(), end="")
    return 0


def cmd_model_use(args: argparse.Namespace) -> int:
    """Make a registered version current, if it reads the input this platform prepares."""
    from models.registry import InputContract, ModelRegistry, RegistryError, contract_differences

    registry = ModelRegistry(resolve_data_paths(args.data_dir).models)
    try:
        registered = registry.get(args.version)
    except RegistryError as exc:
        raise ValueError(str(exc)) from exc
    differences = contract_differences(registered.card.input_contract, InputContract.current())
    if differences:
        raise ValueError(f"model {args.version} expects other input than this platform "
                         f"prepares ({'; '.join(differences)}); it cannot be made current")
    registry.set_current(registered.version)
    print(f"Current model: {registered.version}")
    return 0


def cmd_model_import(args: argparse.Namespace) -> int:
    """Register a model file made elsewhere after checking its card's contract and sha256."""
    from models.registry import ModelRegistry, RegistryError

    paths = resolve_data_paths(args.data_dir)
    registry = ModelRegistry(paths.models)
    if args.if_missing:
        current = _usable_current_model(paths)
        if current is not None:
            print(f"Current model: {current} (nothing imported)")
            return 0
    try:
        registered = registry.import_artifact(Path(args.model_file), Path(args.card))
    except RegistryError as exc:
        raise ValueError(str(exc)) from exc
    if args.set_current or args.if_missing:
        registry.set_current(registered.version)
    print(f"Imported {registered.version} (sha256 {registered.card.sha256[:16]}...)"
          f"{' and set current' if args.set_current or args.if_missing else ''}")
    return 0


def _usable_current_model(paths: DataPaths) -> str | None:
    """The current model's version if it reads this platform's input, else None."""
    from models.registry import InputContract, ModelRegistry, RegistryError, contract_differences

    try:
        current = ModelRegistry(paths.models).current()
    except RegistryError:
        return None
    if contract_differences(current.card.input_contract, InputContract.current()):
        print(f"Current model {current.version} expects another input contract; replacing it")
        return None
    return current.version


def card_summary(card: ModelCard) -> list[str]:
    """A model card in a few lines: label, training data, test metrics with CIs, calibration,
    preprocessing and clinical validity (missing metrics shown as n/a)."""
    data, metrics = card.training_data, card.metrics
    label = f"{data.label}: " if data.label else ""
    training = (f"train {data.n_ecgs} ECGs / {data.n_patients} patients / {data.n_positive} "
                "positive")
    for name, counts in (data.splits or {}).items():
        if name != "train":
            training += f"; {name} {counts.n_ecgs} / {counts.n_patients} / {counts.n_positive}"
    training += "; SYNTHETIC data" if data.synthetic else "; real data"
    cutoff = metrics.get("test_cutoff")
    at_cutoff = f"P(LVD) > {cutoff * 100:g}%" if cutoff is not None else "cutoff n/a"
    return [
        f"created {card.created_at}  sha256 {(card.sha256 or '')[:16]}  code {card.code_version}",
        f"label: {label}{card.label_definition}",
        f"training data: {training}",
        f"test split (95% CIs): AUC {_with_ci(metrics, 'test_auc', '.3f')} [DeLong]; at "
        f"{at_cutoff}: sensitivity {_with_ci(metrics, 'test_sensitivity', '.1%')}, "
        f"specificity {_with_ci(metrics, 'test_specificity', '.1%')} [Wilson]",
        f"calibration: slope {_with_ci(metrics, 'test_calibration_slope', '.2f')}, intercept "
        f"{_with_ci(metrics, 'test_calibration_intercept', '.2f')}, Brier "
        f"{_number(metrics.get('test_brier'), '.4f')}; mean P(LVD) "
        f"{_number(metrics.get('test_mean_p_lvd'), '.1%')} vs observed "
        f"{_number(metrics.get('test_observed_rate'), '.1%')}",
        f"preprocessing: {card.input_contract.preprocessing_version}",
        f"clinical validity: {card.clinical_validity}",
    ]


def _with_ci(metrics: dict[str, float], name: str, spec: str) -> str:
    """`estimate (low-high)` of a metric and its CI bounds, or n/a."""
    estimate = _number(metrics.get(name), spec)
    low, high = metrics.get(f"{name}_ci_low"), metrics.get(f"{name}_ci_high")
    if low is None or high is None:
        return estimate
    return f"{estimate} ({_number(low, spec)} to {_number(high, spec)})"


def _number(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


SERVE_PERSISTENT = (
    "For a schedule that outlives this command, with Prefect's UI: run `prefect server start` "
    "in another terminal (or as a service), then `export PREFECT_API_URL="
    "http://127.0.0.1:4200/api` before `imnm serve` (docs/operations.md).")


def serve_banner(cron: str, data_dir: Path, api_url: str | None) -> list[str]:
    """What `imnm serve` says before it starts: the schedule, where runs are recorded, and,
    without an API URL, that the temporary server dies with the command."""
    lines = [f"Serving the refresh of {data_dir} on cron {cron!r} (UTC), one run at a time; "
             "Ctrl-C stops it."]
    if api_url:
        lines.append(f"Runs are scheduled and recorded by the Prefect server at {api_url}.")
    else:
        lines += ["warning: PREFECT_API_URL is not set: a temporary Prefect server starts for "
                  "as long as this command runs, on a random local port and without a UI; its "
                  "schedule and run history end with it.", SERVE_PERSISTENT]
    return lines


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the refresh deployment on its schedule until interrupted."""
    paths = _paths(args)
    from flows.deployments import checked_cron, serve_refresh

    cron = checked_cron(args.cron)
    pseudonym_key()  # a scheduled run without the key would fail every night
    for line in serve_banner(cron, paths.root, os.environ.get("PREFECT_API_URL")):
        print(line, file=sys.stderr if line.startswith("warning") else sys.stdout, flush=True)
    serve_refresh(cron=cron, data_dir=str(paths.root))
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
    refresh.add_argument("--set", action="append", default=[], metavar="STUDY.NAME=VALUE",
                         help="override a study parameter of config/studies/<study>.toml for "
                              f"this run (repeatable), e.g. --set {STUDY_NAMES[0]}.cutoff=0.02; "
                              f"studies: {', '.join(STUDY_NAMES)}")
    refresh.add_argument("--retry-quarantined", action="store_true",
                         help="stage again files quarantined earlier whose content is still "
                              "landed (after fixing a site configuration)")
    refresh.set_defaults(handler=cmd_refresh)

    examples = [q for study in all_studies() for q in study.sql_examples[1:2]]
    sql = commands.add_parser(
        "sql", help="run a read-only query on the published results",
        epilog="examples:\n" + "\n".join(f'  imnm sql "{q}"' for q in examples),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_data_dir(sql)
    sql.add_argument("query", help=f'e.g. "{examples[0]}"' if examples else "a SELECT")
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

    report = commands.add_parser("report", help="open the study reports of the latest release "
                                 "(written first if missing) and print their paths")
    _add_data_dir(report)
    report.add_argument("--study", type=_study_name, metavar="STUDY",
                        help="one study's report, by name or letter ("
                             + ", ".join(STUDY_NAMES) + "; default: every study's)")
    report.add_argument("--release", help="release id (default: the latest release)")
    report.add_argument("--no-open", action="store_true",
                        help="print the path only, do not open a browser")
    report.set_defaults(handler=cmd_report)

    model = commands.add_parser("model", help="train, list, show, choose and import AI-ECG "
                                "models")
    model_commands = model.add_subparsers(dest="model_command", required=True, metavar="ACTION")
    train = model_commands.add_parser(
        "train", help="train on ECG/echo pairs of a warehouse (default: the data directory's), "
        "evaluate on held-out patients and register the model")
    _add_data_dir(train)
    source = train.add_mutually_exclusive_group()
    source.add_argument("--warehouse", help="warehouse file to read pairs from (waveform shard "
                        "paths are relative to its folder)")
    source.add_argument("--demo-archive", action="store_true",
                        help="build (once) and use the synthetic demo training archive")
    train.add_argument("--ecgs", type=int, help=f"demo archive size (default "
                       f"{DEMO_ARCHIVE_ECGS}; with --demo-archive)")
    train.add_argument("--label", choices=TRAINING_LABELS, default="ef_le_35",
                       help="ef_le_35 (LVEF <= 35%%, default) or lvd_broad (echo LVD flag)")
    train.add_argument("--window-days", type=int, default=14,
                       help="largest ECG-to-echo distance of a pair in days (default 14)")
    train.add_argument("--epochs", type=int, default=10,
                       help="most epochs (early stopping may end sooner; default 10)")
    train.add_argument("--seed", type=int, default=7,
                       help="fixes the split, initial weights and batch order (and the demo "
                            "archive); default 7")
    train.add_argument("--no-set-current", dest="set_current", action="store_false",
                       help="register without making it the current model")
    train.add_argument("--synthetic-data", action="store_true",
                       help="declare the warehouse's data synthetic (the demo archive and demo "
                            "network are recognised without it)")
    train.add_argument("--if-missing", action="store_true",
                       help="do nothing when a usable model is already current")
    train.set_defaults(handler=cmd_model_train)
    importing = model_commands.add_parser(
        "import", help="register a model file with its card (contract and sha256 checked)")
    _add_data_dir(importing)
    importing.add_argument("model_file", help="the .keras file")
    importing.add_argument("--card", required=True, help="its card.json")
    importing.add_argument("--set-current", action="store_true", help="make it current")
    importing.add_argument("--if-missing", action="store_true",
                           help="only when no usable model is current (then it becomes current)")
    importing.set_defaults(handler=cmd_model_import)
    listing = model_commands.add_parser("list", help="registered models with their cards' "
                                        "summaries (* = current)")
    _add_data_dir(listing)
    listing.set_defaults(handler=cmd_model_list)
    show = model_commands.add_parser("show", help="print a model's whole card")
    _add_data_dir(show)
    show.add_argument("version")
    show.set_defaults(handler=cmd_model_show)
    use = model_commands.add_parser("use", help="make a registered model the current one")
    _add_data_dir(use)
    use.add_argument("version")
    use.set_defaults(handler=cmd_model_use)

    serve = commands.add_parser(
        "serve", help="serve the refresh deployment on a cron schedule (UTC)",
        description="Register the refresh deployment and run it on its schedule until "
                    "interrupted. With PREFECT_API_URL set, against that Prefect server "
                    "(persistent, with its UI); without, against a temporary server that "
                    "lasts while this command runs. " + SERVE_PERSISTENT)
    _add_data_dir(serve)
    serve.add_argument("--cron", default=DEFAULT_CRON, help=f"default {DEFAULT_CRON!r}")
    serve.set_defaults(handler=cmd_serve)
    return parser


# A refresh refused because another one runs on the data directory: try again later
# (EX_TEMPFAIL, which schedulers and shell loops read as "retry").
EXIT_REFRESH_RUNNING = 75

EXPECTED_ERRORS: tuple[type[BaseException], ...] = (ConfigurationError, FileNotFoundError,
                                                    ValueError, UnknownStudyError)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen command; expected errors print one line."""
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except RefreshRunningError as exc:
        print(f"imnm: {exc}", file=sys.stderr)
        return EXIT_REFRESH_RUNNING
    except EXPECTED_ERRORS as exc:
        print(f"imnm: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
