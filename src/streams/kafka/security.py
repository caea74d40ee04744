"""The one place that turns ``kafka.security`` into what each Kafka library wants:
librdkafka properties (confluent-kafka: the client, router, agent, simulator, admin)
and Faust's ``broker_credentials`` (aiokafka: the worker).

Secrets (the SASL password, a client key's password) are read from their environment
variable or file only when a client is built, and only into the settings handed to the
library: no message of this module, and no repr, contains one.

Usage::

    Producer(client_settings("broker:9093", security))   # librdkafka
    faust.App(..., broker_credentials=faust_credentials(security))
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from streams.config.models import KafkaSecurity, MonitorConfig, SecretSource, TlsConfig
from streams.errors import StreamsError

__all__ = [
    "PLAINTEXT",
    "SecurityError",
    "as_security",
    "client_settings",
    "faust_credentials",
    "librdkafka_settings",
    "require_secrets",
    "security_problems",
    "ssl_context",
]

PLAINTEXT = KafkaSecurity()


class SecurityError(StreamsError, ValueError):
    """A secret or certificate of kafka.security is unreadable: fix the variable or file named."""


def as_security(security: KafkaSecurity | Mapping[str, Any] | None) -> KafkaSecurity:
    """``security`` as a validated KafkaSecurity: a dict with the keys of the config's
    ``kafka.security`` (for the client, which runs without a monitor config), or None
    for PLAINTEXT. SecurityError on a bad dict, naming keys, never their values."""
    from pydantic import ValidationError

    from streams.config.loading import one_line

    if security is None:
        return PLAINTEXT
    if isinstance(security, KafkaSecurity):
        return security
    try:
        return KafkaSecurity.model_validate(dict(security))
    except ValidationError as exc:
        raise SecurityError(one_line("security", exc, KafkaSecurity)) from None


def _secret(source: SecretSource, what: str) -> str | None:
    """The secret ``source`` names (a file's first line), None when it names none."""
    if source.password_env is not None:
        value = os.environ.get(source.password_env)
        if not value:
            raise SecurityError(f"{what}: environment variable {source.password_env} is not set")
        return value
    if source.password_file is not None:
        try:
            lines = Path(source.password_file).read_text().splitlines()
        except OSError as exc:
            raise SecurityError(
                f"{what}: cannot read {source.password_file}: {exc.strerror}"
            ) from None
        if not lines or not lines[0]:
            raise SecurityError(f"{what}: {source.password_file} is empty")
        return lines[0]
    return None


def _readable(path: Path | None, what: str) -> None:
    if path is None:
        return
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise SecurityError(f"{what}: cannot read {path}: {exc.strerror}") from None


def _check_files(tls: TlsConfig) -> None:
    _readable(tls.ca_file, "kafka.security.tls.ca_file")
    _readable(tls.cert_file, "kafka.security.tls.cert_file")
    _readable(tls.key_file, "kafka.security.tls.key_file")


def security_problems(security: KafkaSecurity) -> list[str]:
    """Every reason the clients could not be built from ``security`` (a secret not set,
    a certificate not readable, a CA that is no PEM), as lines for ``config check``."""
    problems = []
    try:
        if security.sasl is not None:
            _secret(security.sasl, "kafka.security.sasl")
    except SecurityError as exc:
        problems.append(str(exc))
    try:
        if security.protocol.endswith("SSL"):
            ssl_context(security.tls)
    except SecurityError as exc:
        problems.append(str(exc))
    return problems


def require_secrets(config: MonitorConfig, source: Path | str) -> None:
    """ConfigError naming the file and every kafka.security problem, on one line."""
    from streams.config.loading import ConfigError

    problems = security_problems(config.kafka.security)
    if problems:
        raise ConfigError(f"{source}: " + "; ".join(problems))


def librdkafka_settings(security: KafkaSecurity | None) -> dict[str, str]:
    """The librdkafka properties of ``security`` (empty for PLAINTEXT), secrets read now."""
    security = security or PLAINTEXT
    if security.protocol == "PLAINTEXT":
        return {}
    settings = {"security.protocol": security.protocol.lower()}
    if security.sasl is not None:
        settings["sasl.mechanisms"] = security.sasl.mechanism
        settings["sasl.username"] = security.sasl.username
        settings["sasl.password"] = _secret(security.sasl, "kafka.security.sasl") or ""
    tls = security.tls or TlsConfig()
    if security.protocol.endswith("SSL"):
        _check_files(tls)
        if tls.ca_file is not None:
            settings["ssl.ca.location"] = str(tls.ca_file)
        if tls.cert_file is not None and tls.key_file is not None:
            settings["ssl.certificate.location"] = str(tls.cert_file)
            settings["ssl.key.location"] = str(tls.key_file)
        key_password = _secret(tls, "kafka.security.tls")
        if key_password is not None:
            settings["ssl.key.password"] = key_password
        settings["ssl.endpoint.identification.algorithm"] = (
            "https" if tls.check_hostname else "none"
        )
    return settings


def client_settings(bootstrap: str, security: KafkaSecurity | None) -> dict[str, str]:
    """``bootstrap.servers`` and the security properties: the start of every
    confluent-kafka client's config in this project."""
    return {"bootstrap.servers": bootstrap, **librdkafka_settings(security)}


def ssl_context(tls: TlsConfig | None) -> ssl.SSLContext:
    """A client TLS context trusting ``tls.ca_file`` (else the system's CAs), with the
    client certificate when one is given; SecurityError when a file will not load."""
    tls = tls or TlsConfig()
    _check_files(tls)
    try:
        context = ssl.create_default_context(
            cafile=str(tls.ca_file) if tls.ca_file is not None else None
        )
    except ssl.SSLError as exc:
        raise SecurityError(
            f"kafka.security.tls.ca_file: {tls.ca_file} holds no PEM certificate: {exc.reason}"
        ) from None
    context.check_hostname = tls.check_hostname
    if tls.cert_file is not None and tls.key_file is not None:
        try:
            context.load_cert_chain(tls.cert_file, tls.key_file, _secret(tls, "kafka.security.tls"))
        except ssl.SSLError as exc:
            raise SecurityError(
                f"kafka.security.tls: cannot load {tls.cert_file} with {tls.key_file}: "
                f"{exc.reason} (wrong key password?)"
            ) from None
    return context


def faust_credentials(security: KafkaSecurity | None) -> Any:
    """Faust's ``broker_credentials`` for ``security``: None for PLAINTEXT, else a
    ``faust.SASLCredentials`` or ``faust.SSLCredentials`` (aiokafka takes them as is)."""
    import faust

    security = security or PLAINTEXT
    context = ssl_context(security.tls) if security.protocol.endswith("SSL") else None
    if security.sasl is not None:
        return faust.SASLCredentials(
            username=security.sasl.username,
            password=_secret(security.sasl, "kafka.security.sasl"),
            mechanism=security.sasl.mechanism,
            ssl_context=context,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None
