"""kafka.security: validated in the config, turned into librdkafka properties and
Faust credentials in one place, secrets read at build time and never shown."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import faust
import pytest
import yaml

from streams.cli.main import main
from streams.config.loading import ConfigError, load_config, load_security
from streams.config.models import KafkaSecurity
from streams.devtools.simulator.model import DEFAULT_MODEL_ID, FEATURES
from streams.devtools.simulator.producer import write_reference
from streams.kafka.security import (
    SecurityError,
    as_security,
    client_settings,
    faust_credentials,
    librdkafka_settings,
    ssl_context,
)

SECRET = "s3cret-Pa55word-42"


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ca")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=unit-test-ca"],
        cwd=folder, check=True, capture_output=True,
    )  # fmt: skip
    return folder / "ca.pem"


def sasl_ssl(ca_file: Path | str, **sasl: str) -> KafkaSecurity:
    login = {"mechanism": "SCRAM-SHA-512", "username": "alice", "password_env": "KAFKA_PW"}
    return KafkaSecurity.model_validate(
        {"protocol": "SASL_SSL", "sasl": login | sasl, "tls": {"ca_file": str(ca_file)}}
    )


def test_plaintext_adds_nothing() -> None:
    assert client_settings("b:9092", None) == {"bootstrap.servers": "b:9092"}
    assert librdkafka_settings(KafkaSecurity()) == {}
    assert faust_credentials(None) is None


def test_sasl_ssl_becomes_librdkafka_properties(ca_file: Path, monkeypatch) -> None:
    monkeypatch.setenv("KAFKA_PW", SECRET)
    assert librdkafka_settings(sasl_ssl(ca_file)) == {
        "security.protocol": "sasl_ssl",
        "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": "alice",
        "sasl.password": SECRET,
        "ssl.ca.location": str(ca_file),
        "ssl.endpoint.identification.algorithm": "https",
    }


def test_the_password_file_gives_its_first_line(tmp_path: Path) -> None:
    secret_file = tmp_path / "pw"
    secret_file.write_text(f"{SECRET}\nignored\n")
    security = KafkaSecurity.model_validate(
        {
            "protocol": "SASL_PLAINTEXT",
            "sasl": {"mechanism": "PLAIN", "username": "bob", "password_file": str(secret_file)},
        }
    )
    assert librdkafka_settings(security) == {
        "security.protocol": "sasl_plaintext",
        "sasl.mechanisms": "PLAIN",
        "sasl.username": "bob",
        "sasl.password": SECRET,
    }


def test_faust_gets_sasl_credentials_with_a_tls_context(ca_file: Path, monkeypatch) -> None:
    monkeypatch.setenv("KAFKA_PW", SECRET)
    credentials = faust_credentials(sasl_ssl(ca_file))
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert credentials.protocol.value == "SASL_SSL"
    assert (credentials.username, credentials.password) == ("alice", SECRET)
    assert isinstance(credentials.ssl_context, ssl.SSLContext)
    assert credentials.ssl_context.check_hostname
    assert SECRET not in repr(credentials)
    tls_only = KafkaSecurity(protocol="SSL", tls={"ca_file": ca_file, "check_hostname": False})
    assert isinstance(faust_credentials(tls_only), faust.SSLCredentials)


def test_an_unset_variable_is_named_and_no_secret_is_shown(ca_file: Path, monkeypatch) -> None:
    monkeypatch.delenv("KAFKA_PW", raising=False)
    with pytest.raises(SecurityError, match="environment variable KAFKA_PW is not set"):
        librdkafka_settings(sasl_ssl(ca_file))


def test_a_ca_file_that_is_no_certificate_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate\n")
    with pytest.raises(SecurityError, match="holds no PEM certificate"):
        ssl_context(KafkaSecurity(protocol="SSL", tls={"ca_file": bogus}).tls)
    with pytest.raises(SecurityError, match=r"cannot read .*missing\.pem"):
        ssl_context(KafkaSecurity(protocol="SSL", tls={"ca_file": tmp_path / "missing.pem"}).tls)


@pytest.mark.parametrize(
    ("security", "expected"),
    [
        ({"protocol": "SASL_SSL"}, "protocol SASL_SSL needs a sasl section"),
        (
            {"protocol": "SASL_SSL", "sasl": {"mechanism": "PLAIN", "password_env": "X"}},
            "kafka.security.sasl.username: Field required",
        ),
        (
            {"protocol": "SASL_SSL", "sasl": {"mechanism": "PLAIN", "username": "a"}},
            "needs password_env or password_file",
        ),
        (
            {"protocol": "SASL_SSL", "sasl": {"mechanism": "GSSAPI", "username": "a"}},
            "kafka.security.sasl.mechanism: Input should be 'PLAIN', 'SCRAM-SHA-256'",
        ),
        ({"protocol": "PLAINTEXT", "tls": {}}, "protocol PLAINTEXT does not use TLS"),
        ({"protocol": "SSL", "tls": {"cert_file": "c.pem"}}, "cert_file and key_file go together"),
    ],
)
def test_config_errors_are_one_line(tmp_path: Path, security: dict, expected: str) -> None:
    path = tmp_path / "monitor.yaml"
    body = {"models": [{"id": "m", "features": {"x": "numeric"}, "reference": "r.parquet"}]}
    path.write_text(yaml.safe_dump(body | {"kafka": {"security": security}}))
    with pytest.raises(ConfigError, match=expected) as error:
        load_config(path)
    assert "\n" not in str(error.value)


def test_an_inline_password_is_refused_without_being_echoed(tmp_path: Path) -> None:
    inline = {"mechanism": "PLAIN", "username": "a", "password": SECRET}
    path = tmp_path / "security.yaml"
    path.write_text(yaml.safe_dump({"protocol": "SASL_SSL", "sasl": inline}))
    with pytest.raises(ConfigError, match=r"sasl\.password: Extra inputs") as from_file:
        load_security(path)
    with pytest.raises(SecurityError, match=r"sasl\.password: Extra inputs") as from_dict:
        as_security({"protocol": "SASL_SSL", "sasl": inline})
    assert SECRET not in str(from_file.value) + str(from_dict.value)


@pytest.fixture(scope="module")
def secured_config(tmp_path_factory: pytest.TempPathFactory, ca_file: Path) -> Path:
    folder = tmp_path_factory.mktemp("secured-config")
    write_reference(folder / "reference.parquet", rows=500, seed=0)
    model = {"id": DEFAULT_MODEL_ID, "features": dict(FEATURES), "reference": "reference.parquet"}
    security = {
        "protocol": "SASL_SSL",
        "sasl": {"mechanism": "SCRAM-SHA-256", "username": "alice", "password_env": "KAFKA_PW"},
        "tls": {"ca_file": str(ca_file)},
    }
    path = folder / "monitor.yaml"
    path.write_text(yaml.safe_dump({"models": [model], "kafka": {"security": security}}))
    return path


def test_config_check_reads_the_secret_and_never_prints_it(
    secured_config: Path, monkeypatch, capsys, caplog
) -> None:
    monkeypatch.setenv("KAFKA_PW", SECRET)
    assert main(["config", "check", str(secured_config)]) == 0
    monkeypatch.delenv("KAFKA_PW")
    assert main(["config", "check", str(secured_config)]) == 1
    out, err = capsys.readouterr()
    assert "kafka.security.sasl: environment variable KAFKA_PW is not set" in err
    assert err.count("\n") == 1
    assert SECRET not in out + err + caplog.text


def test_the_documented_examples_are_valid() -> None:
    root = Path(__file__).parents[3]
    example = load_security(root / "deploy/kafka/security.example.yml")
    assert example.protocol == "SASL_SSL" and example.sasl is not None
    docs = (root / "docs/security.md").read_text()
    block = docs.split("```yaml\n", 1)[1].split("```", 1)[0]
    documented = KafkaSecurity.model_validate(yaml.safe_load(block)["kafka"]["security"])
    assert documented.sasl is not None and documented.sasl.mechanism == "SCRAM-SHA-512"
