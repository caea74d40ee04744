"""Config errors name the file, the key path and the problem on one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.cli.main import main
from streams.config.loading import ConfigError, load_config

GOOD = """
models:
  - id: fraud
    features: {amount: numeric, country: categorical}
    reference: ref.json
    window_s: 120
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(text)
    return path


def test_good_config_resolves_reference_next_to_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    model = config.model("fraud")
    assert model is not None and model.window_s == 120
    assert model.reference == (tmp_path / "ref.json").resolve()
    assert model.drift.thresholds.psi == 0.2 and model.drift.correction == "bh"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD.replace("numeric", "numerc"), "models.0.features.amount: Input should be"),
        (
            GOOD.replace("window_s: 120", "window_s: -5"),
            "models.0.window_s: Input should be greater than 0",
        ),
        (
            GOOD + "  - id: fraud\n    features: {a: numeric}\n    reference: r.json\n",
            "model ids must be unique, repeated: fraud",
        ),
        (GOOD.replace("window_s", "windw_s"), "models.0.windw_s: Extra inputs are not permitted"),
        (GOOD.replace("window_s", "windw_s"), "(did you mean 'window_s'?)"),
        (GOOD + "kafka: {bootstrp: x:1}\n", "kafka.bootstrp: Extra inputs are not permitted"),
        (GOOD + "kafka: {bootstrp: x:1}\n", "(did you mean 'bootstrap'?)"),
        (GOOD + "kafka: {zzz: 1}\n", "(known keys: bootstrap, partitions, security, topics)"),
        ("models: [", "not valid YAML at line"),
        (GOOD + "    window_s: 60\n", "models.0.window_s: duplicate key (lines 6 and 7)"),
        (
            GOOD + "kafka: {bootstrap: 1.2.3.4:1}\nkafka: {}\n",
            "kafka: duplicate key (lines 7 and 8)",
        ),
        (
            GOOD + "kafka: {bootstrap: '127.0.0.1:99999'}\n",
            "kafka.bootstrap: Value error, port 99999 of '127.0.0.1:99999' is out of range 1-65535",
        ),
        (
            GOOD + "kafka: {bootstrap: 'localhost'}\n",
            "kafka.bootstrap: Value error, 'localhost' is not HOST:PORT",
        ),
    ],
)
def test_errors_are_one_line_with_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert expected in message


def test_config_check_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path, GOOD.replace("120", "zero"))
    assert main(["config", "check", str(bad)]) == 1
    assert "models.0.window_s" in capsys.readouterr().err
    good = write(tmp_path, GOOD)
    # the reference does not exist yet: still an error, naming it
    assert main(["config", "check", str(good)]) == 1
    err = capsys.readouterr().err
    assert f"{good}: models.0.reference: file not found: {tmp_path / 'ref.json'}" in err


def test_a_bootstrap_list_with_valid_ports_passes(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "kafka: {bootstrap: 'a:9092,b.example:65535'}\n")
    assert load_config(path).kafka.bootstrap == "a:9092,b.example:65535"
