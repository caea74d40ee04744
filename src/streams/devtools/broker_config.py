"""The local broker's configuration files: ``server.properties`` for a single KRaft
node on loopback, and a log4j2 config that keeps the broker's log short."""

from __future__ import annotations

from pathlib import Path

__all__ = ["log4j_properties", "server_properties"]


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
