"""The local broker's configuration files: ``server.properties`` for a single KRaft
node on loopback, and a log4j2 config that keeps the broker's log short."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "SecureListener",
    "log4j_properties",
    "secure_listener_properties",
    "server_properties",
    "with_secure_listener",
]

#: The name of the extra listener in ``listeners`` and in its ``listener.name.*`` keys.
SECURE_LISTENER = "SECURE"


@dataclass(frozen=True)
class SecureListener:
    """An extra SASL_SSL listener, for testing clients against a secured cluster: the
    server's PKCS12 keystore (certificate for 127.0.0.1) and the SCRAM users, created
    when the storage is formatted (KRaft keeps them in its metadata log)."""

    port: int
    keystore: Path
    keystore_password: str
    users: dict[str, str] = field(default_factory=dict)
    mechanism: str = "SCRAM-SHA-512"

    def __repr__(self) -> str:  # the passwords stay out of logs and test reports
        return f"SecureListener(port={self.port}, users={sorted(self.users)})"

    def format_arguments(self) -> list[str]:
        """``kafka-storage format`` arguments creating every user."""
        arguments = []
        for name, password in self.users.items():
            arguments += ["--add-scram", f"{self.mechanism}=[name={name},password={password}]"]
        return arguments


def server_properties(host: str, port: int, controller_port: int, log_dirs: Path) -> dict[str, str]:
    """Single-node settings: every internal topic at replication 1 so one node suffices."""
    return {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{host}:{controller_port}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(log_dirs),
        "num.partitions": "1",
        "auto.create.topics.enable": "false",  # a typo must not create a 1-partition topic
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "4",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "4",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "group.initial.rebalance.delay.ms": "0",
        "num.network.threads": "2",
        "num.io.threads": "4",
    }


def secure_listener_properties(secure: SecureListener) -> dict[str, str]:
    """The keys that add ``secure`` to :func:`server_properties` (merged over it);
    brokers and controller keep talking PLAINTEXT among themselves."""
    name = SECURE_LISTENER.lower()
    mechanism = secure.mechanism.lower()
    return {
        "sasl.enabled.mechanisms": secure.mechanism,
        f"listener.name.{name}.sasl.enabled.mechanisms": secure.mechanism,
        f"listener.name.{name}.{mechanism}.sasl.jaas.config": (
            "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        ),
        f"listener.name.{name}.ssl.keystore.type": "PKCS12",
        f"listener.name.{name}.ssl.keystore.location": str(secure.keystore),
        f"listener.name.{name}.ssl.keystore.password": secure.keystore_password,
        f"listener.name.{name}.ssl.key.password": secure.keystore_password,
    }


def with_secure_listener(
    props: dict[str, str], host: str, secure: SecureListener
) -> dict[str, str]:
    """``props`` with the SASL_SSL listener added to its listener lists."""
    listener = f"{SECURE_LISTENER}://{host}:{secure.port}"
    return {
        **props,
        "listeners": f"{props['listeners']},{listener}",
        "advertised.listeners": f"{props['advertised.listeners']},{listener}",
        "listener.security.protocol.map": (
            f"{props['listener.security.protocol.map']},{SECURE_LISTENER}:SASL_SSL"
        ),
        **secure_listener_properties(secure),
    }


def log4j_properties(log_path: Path) -> str:
    """WARN-level log4j2 config appending to ``log_path`` (both writers use O_APPEND)."""
    return "\n".join(
        [
            "status = warn",
            # Kafka's own shutdown hook logs after log4j's would have stopped it.
            "shutdownHook = disable",
            "appender.file.type = File",
            "appender.file.name = FILE",
            f"appender.file.fileName = {log_path}",
            "appender.file.append = true",
            "appender.file.layout.type = PatternLayout",
            "appender.file.layout.pattern = [%d] %p %m (%c)%n",
            "rootLogger.level = WARN",
            "rootLogger.appenderRef.file.ref = FILE",
            "",
        ]
    )
