"""The helpers every command shares: the one error line, argument types, the config
with its command-line overrides, the model choice and the stop-on-signal event."""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path

import pytest

from streams.cli.common import (
    EXIT_USAGE,
    fail,
    port_number,
    positive_seconds,
    select_model,
    stop_on_signals,
    with_overrides,
)
from streams.config.loading import ConfigError, load_config

CONFIG = """
kafka: {bootstrap: "kafka:9092"}
worker: {metrics_host: "127.0.0.1"}
models:
  - id: first
    features: {x: numeric}
    reference: ref.json
  - id: second
    features: {y: categorical}
    reference: ref.json
"""


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(CONFIG)
    return path


def test_fail_prints_one_line_naming_the_command(capsys: pytest.CaptureFixture) -> None:
    assert fail("it broke", "drift", EXIT_USAGE) == 2
    assert fail("top level") == 1
    err = capsys.readouterr().err
    assert err.splitlines() == ["streams drift: error: it broke", "streams: error: top level"]


@pytest.mark.parametrize("text", ["0", "-1", "soon", "nan"])
def test_positive_seconds_rejects(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        positive_seconds(text)


@pytest.mark.parametrize("text", ["-1", "65536", "http"])
def test_port_number_rejects(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        port_number(text)


def test_argument_types_accept_their_range() -> None:
    assert positive_seconds("0.5") == 0.5
    assert [port_number(t) for t in ("0", "65535")] == [0, 65535]


def test_overrides_change_only_the_addresses_given(config_path: Path) -> None:
    config = load_config(config_path)
    same = with_overrides(config, argparse.Namespace(bootstrap=None, metrics_host=None))
    assert same == config
    moved = with_overrides(config, argparse.Namespace(bootstrap="b:1", metrics_host="0.0.0.0"))
    assert (moved.kafka.bootstrap, moved.worker.metrics_host) == ("b:1", "0.0.0.0")
    assert moved.models == config.models and moved.kafka.topics == config.kafka.topics


def test_select_model_defaults_to_the_first_and_names_a_missing_one(config_path: Path) -> None:
    config = load_config(config_path)
    assert select_model(config, str(config_path), None).id == "first"
    assert select_model(config, str(config_path), "second").id == "second"
    with pytest.raises(ConfigError, match=r"monitor.yaml: no model 'third'"):
        select_model(config, str(config_path), "third")


def test_stop_on_signals_sets_the_event_and_restores_the_handler() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals() as stop:
        assert not stop.is_set()
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(timeout=5)
    assert signal.getsignal(signal.SIGTERM) is before
