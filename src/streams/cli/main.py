"""The ``streams`` command: one sub-command per job."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from streams.alerting.silences import register as register_silence
from streams.cli.alert_router import register as register_alert_router
from streams.cli.drift import register as register_drift
from streams.cli.kafka import register as register_kafka
from streams.cli.postmortem import register as register_postmortem
from streams.cli.simulate import register as register_simulate
from streams.cli.telemetry_agent import register as register_telemetry
from streams.config.loading import ConfigError, load_config
from streams.config.models import MonitorConfig
from streams.windows.reference_profile import ReferenceProfileError

EXAMPLES = """examples:
  streams demo                                  # broker + worker + silent-zeros simulator
  streams kafka start                           # local broker on 127.0.0.1:9092
  streams reference build --input train.parquet --output ref.json --config monitor.yaml
  streams config check monitor.yaml
  streams drift --reference train.parquet --current today.parquet
  streams postmortem --config monitor.yaml --model m --from 2026-01-01T00:00Z --to 2026-01-01T02:00Z
  streams worker --config monitor.yaml --print-alerts
"""


def _fail(message: str) -> int:
    print(f"streams: error: {message}", file=sys.stderr)
    return 1


def _config(path: str | None) -> MonitorConfig:
    if path is None:
        from streams.devtools.demo import demo_config

        print(
            "streams: no --config given: using the demo config (simulator's model)", file=sys.stderr
        )
        return demo_config()
    return load_config(path)


def _with_overrides(config: MonitorConfig, args: argparse.Namespace) -> MonitorConfig:
    """The same config file across environments: only the addresses differ."""
    if getattr(args, "bootstrap", None):
        kafka = config.kafka.model_copy(update={"bootstrap": args.bootstrap})
        config = config.model_copy(update={"kafka": kafka})
    if getattr(args, "metrics_host", None):
        worker = config.worker.model_copy(update={"metrics_host": args.metrics_host})
        config = config.model_copy(update={"worker": worker})
    return config


def cmd_worker(args: argparse.Namespace) -> int:
    from streams.worker.run import run_worker

    try:
        config = _with_overrides(_config(args.config), args)
        return run_worker(config, print_alerts=args.print_alerts, loglevel=args.loglevel)
    except (ConfigError, ReferenceProfileError) as exc:
        return _fail(str(exc))


def cmd_config_check(args: argparse.Namespace) -> int:
    from streams.windows.reference_profile import load_reference

    try:
        config = load_config(args.file)
        for model in config.models:
            load_reference(model.reference, model.features)
    except (ConfigError, ReferenceProfileError) as exc:
        return _fail(str(exc))
    names = ", ".join(f"{m.id} ({len(m.features)} features)" for m in config.models)
    print(f"{args.file}: ok: {names}")
    return 0


def cmd_reference_build(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from streams.offline.columns import read_columns
    from streams.windows.reference_profile import build_profile

    try:
        types = None
        if args.config:
            config = load_config(args.config)
            model = config.model(args.model) if args.model else config.models[0]
            if model is None:
                return _fail(f"{args.config}: no model {args.model!r}")
            types = model.features
        columns = read_columns(Path(args.input))
        with tqdm(
            total=len(types or columns), desc="profiling features", unit="feature", disable=None
        ) as bar:
            profile = build_profile(
                columns, types, bins=args.bins, source=args.input, progress=lambda _: bar.update()
            )
    except (ConfigError, ReferenceProfileError, ValueError, OSError) as exc:
        return _fail(str(exc))
    Path(args.output).write_bytes(profile.to_json())
    print(f"{args.output}: {profile.rows} rows, {len(profile.features)} features")
    return 0


def cmd_reference_publish(args: argparse.Namespace) -> int:
    from streams.kafka.errors import BrokerError
    from streams.offline.columns import read_columns
    from streams.windows.reference_profile import build_profile, load_reference
    from streams.windows.reference_updates import publish_reference

    try:
        config = _with_overrides(load_config(args.config), args)
        model = config.model(args.model) if args.model else config.models[0]
        if model is None:
            return _fail(f"{args.config}: no model {args.model!r}")
        profile = load_reference(model.reference, model.features)
        if args.input:
            columns = read_columns(Path(args.input))
            profile = build_profile(columns, model.features, source=args.input, bins_from=profile)
        topic = config.kafka.topics.references
        size = publish_reference(config.kafka.bootstrap, topic, model.id, profile)
    except (ConfigError, ReferenceProfileError, ValueError, OSError, BrokerError) as exc:
        return _fail(str(exc))
    print(
        f"{topic}: published the reference of {model.id} ({profile.rows} rows, "
        f"{len(profile.features)} features, {size} bytes); running workers switch to it"
    )
    return 0


def cmd_schemas(args: argparse.Namespace) -> int:
    from streams.events.jsonschema import stale_files, write_schemas

    directory = Path(args.dir)
    if args.check:
        stale = stale_files(directory)
        if stale:
            return _fail(f"out of date in {directory}: {', '.join(stale)} (run `streams schemas`)")
        print(f"{directory}: schemas up to date")
        return 0
    written = write_schemas(directory)
    print(f"{directory}: wrote {', '.join(written) if written else 'nothing (up to date)'}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from streams.devtools.demo import run_demo

    return run_demo(
        scenario=args.scenario,
        port=args.port,
        rate=args.rate,
        speedup=args.speedup,
        duration=args.duration,
    )


def _register_core(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "worker",
        help="run the monitoring worker (stage 1 and stage 2)",
        description="Consume predictions, fold them into windowed sketches, "
        "evaluate each window against the reference and emit results, alerts "
        "and Prometheus metrics. Stops cleanly on SIGTERM or Ctrl-C.",
    )
    p.add_argument("--config", help="monitor config YAML (default: the demo config)")
    p.add_argument("--print-alerts", action="store_true", help="print each alert as one line")
    p.add_argument("--bootstrap", help="override kafka.bootstrap of the config")
    p.add_argument("--metrics-host", help="override worker.metrics_host (0.0.0.0 in containers)")
    p.add_argument("--loglevel", default="warning", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("config", help="validate a monitor config")
    csub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    c = csub.add_parser("check", help="validate FILE and its references; exit 1 when invalid")
    c.add_argument("file")
    c.set_defaults(func=cmd_config_check)

    p = sub.add_parser("reference", help="build reference profiles")
    rsub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    r = rsub.add_parser(
        "build",
        help="profile a training-data file (CSV, Parquet or JSONL)",
        description="Profile the reference data once: quantile bins, "
        "histograms, category counts and data-quality rates per feature.",
    )
    r.add_argument("--input", required=True, help="data file: .csv, .parquet or .jsonl")
    r.add_argument("--output", required=True, help="profile to write (.json)")
    r.add_argument("--config", help="take feature names and types from this monitor config")
    r.add_argument("--model", help="model id in --config (default: its first model)")
    r.add_argument("--bins", type=int, default=10, help="quantile bins per numeric feature")
    r.set_defaults(func=cmd_reference_build)
    r = rsub.add_parser(
        "publish",
        help="publish a model's reference to the references topic (workers pick it up)",
        description="Publish the configured reference of a model, or a new one profiled "
        "from --input on the configured reference's bins, to the compacted references "
        "topic. Workers read it at start and switch to it while running; a profile on "
        "other bins is refused (live windows are sketched on the configured bins).",
    )
    r.add_argument("--config", required=True, help="monitor config YAML")
    r.add_argument("--model", help="model id in --config (default: its first model)")
    r.add_argument("--input", help="new reference data (.csv, .parquet, .jsonl)")
    r.add_argument("--bootstrap", help="override kafka.bootstrap of the config")
    r.set_defaults(func=cmd_reference_publish)

    p = sub.add_parser("schemas", help="write (or --check) the JSON Schemas of every topic")
    p.add_argument("--dir", default="schemas")
    p.add_argument("--check", action="store_true", help="exit 1 when a file is out of date")
    p.set_defaults(func=cmd_schemas)

    p = sub.add_parser(
        "demo",
        help="local broker + worker + simulator: watch an alert fire",
        description="Starts the local Kafka broker, a worker printing alerts "
        "and the simulator playing a scenario; Ctrl-C stops all of them.",
    )
    p.add_argument("--scenario", default="silent-zeros")
    p.add_argument("--port", type=int, default=9092, help="broker port")
    p.add_argument("--rate", default="20", help="events per second of event time")
    p.add_argument("--speedup", default="60", help="event seconds per wall second")
    p.add_argument("--duration", default="2h", help="event time to simulate")
    p.set_defaults(func=cmd_demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streams",
        description="Streaming ML monitoring on Apache Kafka: drift, data quality and "
        "performance, in real time.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _register_core(sub)
    register_kafka(sub)
    register_simulate(sub)
    register_telemetry(sub)
    register_alert_router(sub)
    register_drift(sub)
    register_postmortem(sub)
    register_silence(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE  # as a shell reports a command killed by SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
