"""``streams demo`` (what ``make run`` runs): the silent failure, caught, on one machine.

Starts the local broker (unless one already answers), a worker that prints each alert
as one line, and the simulator playing a scenario. Ctrl-C or SIGTERM stops every
process it started, the broker included, and leaves nothing behind.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import yaml

from streams.config.loading import load_config
from streams.config.models import MonitorConfig, prefixed_topics
from streams.devtools.local_broker import LocalBroker, streams_home
from streams.devtools.processes import stop_process_group
from streams.kafka.errors import BrokerError

DEMO_WINDOW_S = 60
#: Every topic of the demo (its changelogs too) starts with this, so that each run can
#: start from a clean slate without touching anything else on the broker.
DEMO_PREFIX = "streams-demo"


def demo_dir() -> Path:
    return streams_home() / ".streams" / "demo"


def write_demo_config(directory: Path, bootstrap: str = "127.0.0.1:9092") -> Path:
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


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "streams", *args], start_new_session=True)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def run_demo(scenario: str, port: int, rate: str, speedup: str, duration: str) -> int:
    broker = LocalBroker(port=port)
    started_broker = False
    worker = simulator = None
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` takes the same path as Ctrl-C
    try:
        if not broker.status().reachable:
            print(f"starting the local Kafka broker on {broker.bootstrap} ...", flush=True)
            broker.start()
            started_broker = True
        config_path = write_demo_config(demo_dir(), broker.bootstrap)
        config = load_config(config_path)
        _clean_slate(config)
        print(f"config: {config_path}", flush=True)
        worker = _spawn("worker", "--config", str(config_path), "--print-alerts")
        topics = config.kafka.topics
        simulator = _spawn(
            "simulate", "--scenario", scenario, "--rate", rate, "--speedup", speedup,
            "--duration", duration, "--bootstrap", broker.bootstrap,
            "--topic", topics.predictions, "--labels-topic", topics.labels,
        )  # fmt: skip
        simulator.wait()
        print(
            "simulation finished; the worker keeps running (Ctrl-C to stop everything)", flush=True
        )
        return worker.wait()
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
        return 0
    except BrokerError as exc:
        print(f"streams: error: {exc}", file=sys.stderr)
        return 1
    finally:
        for proc in (simulator, worker):
            if proc is not None:
                stop_process_group(proc)
        if started_broker:
            broker.stop()
