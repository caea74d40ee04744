"""A broker of its own with a SASL_SSL listener (SCRAM-SHA-512), for the tests of
secured clusters: a throwaway CA and a server certificate for 127.0.0.1 made here with
openssl, the user created when the storage is formatted.

Module-scoped, apart from the session broker: its listeners and users are its own."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from streams.config.models import KafkaSecurity
from streams.devtools.broker_config import SecureListener
from streams.devtools.local_broker import LocalBroker, free_ports

USER = "alice"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(folder: Path, name: str) -> Path:
    """A self-signed CA (``NAME.pem``, ``NAME.key``) valid for two days."""
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", f"{name}.key", "-out", f"{name}.pem", "-subj", f"/CN={name}",
        cwd=folder,
    )  # fmt: skip
    return folder / f"{name}.pem"


def make_server_keystore(folder: Path, ca: str, password: str) -> Path:
    """A PKCS12 keystore with a certificate for 127.0.0.1 and localhost signed by ``ca``."""
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
        "-out", "server.csr", "-subj", "/CN=localhost",
        cwd=folder,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
        "-CAcreateserial", "-days", "2", "-out", "server.pem", "-extfile", "san.ext",
        cwd=folder,
    )  # fmt: skip
    _openssl(
        "pkcs12", "-export", "-in", "server.pem", "-inkey", "server.key",
        "-certfile", f"{ca}.pem", "-name", "broker", "-out", "server.p12",
        "-passout", f"pass:{password}",
        cwd=folder,
    )  # fmt: skip
    return folder / "server.p12"


@dataclass(frozen=True)
class SecuredBroker:
    """The broker's two doors: PLAINTEXT (the tests' own reads) and SASL_SSL."""

    plaintext: str
    secure: str
    folder: Path
    ca_file: Path
    password: str
    password_file: Path

    def security(self, password_file: Path | None = None, ca_file: Path | None = None) -> dict:
        """``kafka.security`` for the SASL_SSL door; another password or CA file
        makes a client the broker must refuse."""
        return {
            "protocol": "SASL_SSL",
            "sasl": {
                "mechanism": "SCRAM-SHA-512",
                "username": USER,
                "password_file": str(password_file or self.password_file),
            },
            "tls": {"ca_file": str(ca_file or self.ca_file)},
        }

    def settings(self) -> KafkaSecurity:
        return KafkaSecurity.model_validate(self.security())


@pytest.fixture(scope="module")
def secured_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredBroker]:
    folder = tmp_path_factory.mktemp("secured-broker")
    store_password, password = secrets.token_hex(12), secrets.token_hex(16)
    ca_file = make_ca(folder, "test-ca")
    keystore = make_server_keystore(folder, "test-ca", store_password)
    password_file = folder / "alice.password"
    password_file.write_text(password + "\n")
    port, controller_port, secure_port = free_ports(3)
    secure = SecureListener(secure_port, keystore, store_password, users={USER: password})
    broker = LocalBroker(
        port=port, controller_port=controller_port, data_dir=folder / "data", secure=secure
    )
    broker.start(timeout_s=120)
    try:
        assert broker.secure_bootstrap is not None
        yield SecuredBroker(
            broker.bootstrap, broker.secure_bootstrap, folder, ca_file, password, password_file
        )
    finally:
        broker.stop()


@pytest.fixture(scope="module")
def kafka_bootstrap(secured_broker: SecuredBroker) -> str:
    """The tests' own reads and topic set-up go through the PLAINTEXT door."""
    return secured_broker.plaintext
