"""``streams demo`` (what ``make run`` runs): the silent failure, caught, on one machine.

Starts the local broker (unless one already answers), a worker that prints each alert
as one line and a status line every few seconds, and the simulator playing a scenario.
The terminal gets only those lines: the libraries' logs and the simulator's go to files
it names at the start. Once the simulator is done and the worker has caught up (or on
Ctrl-C or SIGTERM) it prints what fired on one screen and stops every process it
started, the broker included, leaving nothing behind.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import yaml

from streams.config.loading import load_config
from streams.config.models import MonitorConfig, prefixed_topics
from streams.devtools.broker_process import log_tail
from streams.devtools.demo_summary import AlertTally
from streams.devtools.local_broker import LocalBroker, streams_home
from streams.devtools.processes import stop_process_group
from streams.kafka.errors import BrokerError
from streams.worker.status import shows_idle

DEMO_WINDOW_S = 60
#: Every topic of the demo (its changelogs too) starts with this, so that each run can
#: start from a clean slate without touching anything else on the broker.
DEMO_PREFIX = "streams-demo"


def demo_dir() -> Path:
    return streams_home() / ".streams" / "demo"


def write_demo_config(
    directory: Path, bootstrap: str = "127.0.0.1:9092", metrics_port: int = 9108
) -> Path:
    """The demo's monitor config and reference data, generated from the simulator."""
    from streams.devtools.simulator.features import FEATURES
    from streams.devtools.simulator.model import DEFAULT_MODEL_ID
    from streams.devtools.simulator.producer import write_reference

    directory.mkdir(parents=True, exist_ok=True)
    reference = directory / "reference.parquet"
    if not reference.exists():
        write_reference(reference)
    config = {
        "models": [
            {
                "id": DEFAULT_MODEL_ID,
                "features": dict(FEATURES),
                "reference": reference.name,
                "window_s": DEMO_WINDOW_S,
                "allowed_lateness_s": 10,
            }
        ],
        "kafka": {
            "bootstrap": bootstrap,
            "topics": prefixed_topics(DEMO_PREFIX),
        },
        "worker": {
            "app_id": DEMO_PREFIX,
            "data_dir": str(directory / "worker"),
            "idle_timeout_s": 3.0,
            "metrics_port": metrics_port,
        },
    }
    path = directory / "monitor.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def demo_config() -> MonitorConfig:
    return load_config(write_demo_config(demo_dir()))


def _clean_slate(config: MonitorConfig) -> None:
    """Forget earlier demo runs: their events, offsets and window state would otherwise
    make this run's fresh events look hours late."""
    from streams.kafka.admin import delete_topics_with_prefix, ensure_topics
    from streams.worker.run import topic_specs

    delete_topics_with_prefix(config.kafka.bootstrap, DEMO_PREFIX)
    shutil.rmtree(config.worker.data_dir, ignore_errors=True)
    ensure_topics(config.kafka.bootstrap, topic_specs(config))


def _spawn(*args: str, stdout: IO[bytes] | int | None, log: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "streams", *args],
        stdout=stdout,
        stderr=log,
        start_new_session=True,
    )


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


class _WorkerLines(threading.Thread):
    """Relays the worker's stdout to ours, tallying alerts and noticing when the status
    lines say the worker has caught up: nothing to read, nothing folded and no window
    evaluated for a whole status interval."""

    def __init__(self, worker: subprocess.Popen[bytes], started: float) -> None:
        super().__init__(daemon=True)
        self.worker, self.started = worker, started
        self.tally = AlertTally()
        self.idle = threading.Event()

    def run(self) -> None:
        assert self.worker.stdout is not None
        previous = ""
        for raw in self.worker.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            print(line, flush=True)
            self.tally.record(line, time.monotonic() - self.started)
            # twice the same idle line: stage 2 has evaluated nothing in between either
            if shows_idle(line) and line == previous:
                self.idle.set()
            if line.startswith("STATUS"):
                previous = line


def _where(broker: LocalBroker, config_path: Path, metrics_port: int, logs: Path) -> list[str]:
    """The lines that say where everything is, printed before the first event."""
    return [
        f"broker     {broker.bootstrap} (its log: {broker.log_path})",
        f"metrics    http://127.0.0.1:{metrics_port}/metrics",
        "dashboard  Grafana runs with Docker only: `docker compose up --build`, then "
        "http://127.0.0.1:3000",
        f"config     {config_path}",
        f"logs       {logs / 'worker.log'} (Faust, aiokafka), {logs / 'worker.stderr.log'}, "
        f"{logs / 'simulator.log'}",
        "reading    one line per alert as it fires; STATUS every 5 s: events/s, lag "
        "(events not read yet), windows evaluated, alerts open",
    ]


def _first_error(log: Path) -> str:
    """The first ERROR or CRITICAL line of the worker's log: the cause, where the lines
    after it are what the cause took down."""
    for line in log_tail(log, 100_000):
        if "[ERROR]" in line or "[CRITICAL]" in line:
            return f"{line[:300]} (more in {log})"
    return f"see {log}"


def _report_command(config_path: Path, model_id: str, start: datetime, span_s: float) -> str:
    end = start + timedelta(seconds=span_s)
    return (
        f"streams postmortem --config {config_path} --model {model_id} "
        f"--from {start:%Y-%m-%dT%H:%MZ} --to {end + timedelta(minutes=1):%Y-%m-%dT%H:%MZ}"
    )


@dataclass
class _Run:
    """The worker and the simulator of one demo run, with their log files."""

    worker: subprocess.Popen[bytes]
    simulator: subprocess.Popen[bytes]
    lines: _WorkerLines
    logs: list[IO[bytes]]

    @classmethod
    def start(
        cls,
        config_path: Path,
        config: MonitorConfig,
        simulate: list[str],
        directory: Path,
        started: float,
    ) -> _Run:
        """Start the worker (its stdout relayed, timed from ``started``) and then the
        simulator (into its log)."""
        (directory / "worker.log").unlink(missing_ok=True)  # Faust appends: one run per file
        logs = [(directory / name).open("wb") for name in ("worker.stderr.log", "simulator.log")]
        worker = _spawn(
            "worker", "--config", str(config_path), "--print-alerts",
            "--log-file", str(directory / "worker.log"),
            "--log-format", "text",
            stdout=subprocess.PIPE, log=logs[0],
        )  # fmt: skip
        lines = _WorkerLines(worker, started)
        lines.start()
        topics = config.kafka.topics
        simulator = _spawn(
            "simulate", *simulate, "--bootstrap", config.kafka.bootstrap, "--no-progress",
            "--topic", topics.predictions, "--labels-topic", topics.labels,
            stdout=logs[1], log=logs[1],
        )  # fmt: skip
        return cls(worker, simulator, lines, logs)

    def wait(self) -> int | None:
        """Wait for the simulator, then for the worker to catch up; the worker's exit
        code if it stopped on its own first."""
        while self.simulator.poll() is None:
            if self.worker.poll() is not None:
                return self.worker.returncode
            time.sleep(0.5)
        self.lines.idle.clear()
        while not self.lines.idle.wait(1.0):
            if self.worker.poll() is not None:
                return self.worker.returncode
        return None

    def stop(self) -> AlertTally:
        """Stop both processes and close their logs; what the worker's alerts were."""
        for proc in (self.simulator, self.worker):
            stop_process_group(proc)
        self.lines.join(timeout=5)
        for log in self.logs:
            log.close()
        return self.lines.tally


def run_demo(
    scenario: str,
    port: int,
    rate: float,
    speedup: float,
    duration_s: float,
    metrics_port: int = 9108,
    keep_running: bool = False,
) -> int:
    """Run the demo; 0 when it ended (by itself or on Ctrl-C), 1 when a part failed."""
    broker = LocalBroker(port=port)
    started_broker, start_time, run = False, datetime.now(UTC), None
    started = time.monotonic()
    directory = demo_dir()
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` takes the same path as Ctrl-C
    try:
        if not broker.status().reachable:
            print(f"starting the local Kafka broker on {broker.bootstrap} ...", flush=True)
            broker.start()
            started_broker = True
        config_path = write_demo_config(directory, broker.bootstrap, metrics_port)
        config = load_config(config_path)
        _clean_slate(config)
        print("\n".join(_where(broker, config_path, metrics_port, directory)), flush=True)
        simulate = ["--scenario", scenario, "--rate", str(rate), "--speedup", str(speedup),
                    "--duration", str(duration_s)]  # fmt: skip
        run = _Run.start(config_path, config, simulate, directory, started)
        wall = f"about {duration_s / speedup / 60:.1f} min" if speedup else "as fast as it can"
        print(f"simulator  {scenario}: {duration_s / 3600:g} h of event time at {speedup:g}x "
              f"({wall})", flush=True)  # fmt: skip
        if keep_running:
            run.simulator.wait()
            print("simulation finished; the worker keeps running (Ctrl-C to stop)", flush=True)
            run.worker.wait()
            return 0
        code = run.wait()
        if code is not None:
            cause = _first_error(directory / "worker.log")
            print(f"streams: error: the worker exited with code {code}: {cause}")
            return 1
        print("simulation finished and the worker has caught up", flush=True)
        return 0
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
        return 0
    except BrokerError as exc:
        print(f"streams: error: {exc}", file=sys.stderr)
        return 1
    finally:
        if run is not None:
            print("\n".join(run.stop().summary()))
            report = _report_command(config_path, config.models[0].id, start_time, duration_s)
            print(f"report     {report}")
        if started_broker:
            broker.stop()
