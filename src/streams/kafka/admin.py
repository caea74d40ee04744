"""Topic administration: create the pipeline's topics up front, with explicit partition counts.

Co-partitioning (``predictions`` and ``labels`` with the same partition count)
cannot be left to broker auto-creation, which would give every topic
``num.partitions``; so topics are created explicitly and idempotently here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, ClusterMetadata, NewTopic

from streams.config.models import KafkaSecurity
from streams.kafka.errors import TopicError
from streams.kafka.security import client_settings

__all__ = [
    "TopicSpec",
    "delete_topics_with_prefix",
    "ensure_topics",
    "topic_partition_count",
]

log = logging.getLogger(__name__)

_FATAL = frozenset(
    {
        KafkaError.INVALID_PARTITIONS,
        KafkaError.INVALID_REPLICATION_FACTOR,
        KafkaError.INVALID_CONFIG,
        KafkaError.TOPIC_EXCEPTION,
        KafkaError.INVALID_REPLICA_ASSIGNMENT,
        KafkaError._INVALID_ARG,
        KafkaError.INVALID_REQUEST,
        KafkaError.POLICY_VIOLATION,
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
        KafkaError.UNSUPPORTED_VERSION,
    }
)
"""Errors that retrying cannot fix (bad spec, no permission); everything else is retried."""


@dataclass(frozen=True)
class TopicSpec:
    """Desired shape of a topic; replication is always 1 (single-node dev/test broker)."""

    partitions: int
    config: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.partitions < 1:
            raise ValueError(f"partitions must be >= 1, got {self.partitions}")


def _admin(bootstrap: str, security: KafkaSecurity | None) -> AdminClient:
    return AdminClient(
        {
            **client_settings(bootstrap, security),
            "reconnect.backoff.max.ms": 1000,
            "log_level": 3,
        }
    )


def _metadata(admin: AdminClient, timeout_s: float) -> ClusterMetadata:
    # Always ask for all topics: naming one topic in a metadata request may auto-create it.
    return admin.list_topics(timeout=max(timeout_s, 0.5))


def _ready(md: ClusterMetadata, name: str) -> bool:
    """Visible, error-free, and every partition has a leader: producers can use it now."""
    topic = md.topics.get(name)
    if topic is None or topic.error is not None or not topic.partitions:
        return False
    return all(p.leader >= 0 for p in topic.partitions.values())


def _take_existing(md: ClusterMetadata, pending: dict[str, TopicSpec]) -> None:
    """Drop the topics metadata already shows from ``pending``; warn on another shape."""
    for name in [n for n in pending if n in md.topics and md.topics[n].error is None]:
        spec = pending.pop(name)
        have = len(md.topics[name].partitions)
        if have != spec.partitions:
            log.warning(
                "topic %s exists with %d partitions, wanted %d; leaving it as is",
                name,
                have,
                spec.partitions,
            )


def _create(
    admin: AdminClient, pending: dict[str, TopicSpec], timeout_s: float, created: list[str]
) -> str | None:
    """One round of creating the ``pending`` topics: the created ones go from ``pending``
    to ``created``; returns the last retryable error. TopicError on a fatal one."""
    new = [
        NewTopic(name, num_partitions=spec.partitions, replication_factor=1, config=spec.config)
        for name, spec in pending.items()
    ]
    op_timeout = max(1.0, min(10.0, timeout_s))
    futures = admin.create_topics(new, operation_timeout=op_timeout, request_timeout=op_timeout + 5)
    last_error = None
    for name, future in futures.items():
        try:
            future.result()
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                pending.pop(name, None)
                continue
            if isinstance(err, KafkaError) and err.code() in _FATAL:
                raise TopicError(f"cannot create topic {name!r}: {err.str()}") from exc
            last_error = str(exc)
        else:
            log.info("created topic %s (%d partitions)", name, pending.pop(name).partitions)
            created.append(name)
    return last_error


def ensure_topics(
    bootstrap: str,
    topics: Mapping[str, TopicSpec],
    timeout_s: float = 30,
    security: KafkaSecurity | None = None,
) -> list[str]:
    """Create the missing topics and wait until metadata shows all of them; returns those created.

    Topics that already exist are left alone, even with another partition count
    (changing it would break key-to-partition mapping); a warning is logged.
    """
    deadline = time.monotonic() + timeout_s
    admin = _admin(bootstrap, security)
    created: list[str] = []
    pending = dict(topics)
    last_error: str | None = None

    def remaining() -> float:
        return deadline - time.monotonic()

    while pending:
        if remaining() <= 0:
            raise TopicError(
                f"could not create topics {sorted(pending)} on {bootstrap} within "
                f"{timeout_s:g}s: {last_error or 'timed out'}"
            )
        try:
            md = _metadata(admin, min(5.0, remaining()))
        except KafkaException as exc:
            last_error = str(exc)
            time.sleep(0.2)
            continue
        _take_existing(md, pending)
        if not pending:
            break
        last_error = _create(admin, pending, remaining(), created) or last_error
        if pending:
            time.sleep(0.2)

    _wait_visible(admin, bootstrap, list(topics), deadline, timeout_s)
    return created


def _wait_visible(
    admin: AdminClient, bootstrap: str, names: list[str], deadline: float, timeout_s: float
) -> None:
    """Creation is acknowledged by the controller before brokers serve it; wait for metadata."""
    missing = names
    while True:
        try:
            md = _metadata(admin, min(5.0, max(deadline - time.monotonic(), 0.5)))
            missing = [name for name in names if not _ready(md, name)]
        except KafkaException:
            pass
        if not missing:
            return
        if time.monotonic() >= deadline:
            raise TopicError(
                f"topics {sorted(missing)} not visible in {bootstrap} metadata after {timeout_s:g}s"
            )
        time.sleep(0.1)


def topic_partition_count(
    bootstrap: str, topic: str, timeout_s: float = 10, security: KafkaSecurity | None = None
) -> int | None:
    """Partition count of ``topic``, or None when it does not exist (never auto-creates it)."""
    try:
        md = _metadata(_admin(bootstrap, security), timeout_s)
    except KafkaException as exc:
        raise TopicError(f"cannot read metadata from {bootstrap}: {exc}") from exc
    meta = md.topics.get(topic)
    if meta is None or (meta.error is not None and not meta.partitions):
        return None
    return len(meta.partitions)


def delete_topics_with_prefix(
    bootstrap: str, prefix: str, timeout_s: float = 30, security: KafkaSecurity | None = None
) -> list[str]:
    """Delete every topic whose name starts with ``prefix`` and wait until they are gone;
    returns their names. For throwaway setups (the demo), never for production topics."""
    admin = _admin(bootstrap, security)
    names = sorted(t for t in _metadata(admin, timeout_s).topics if t.startswith(prefix))
    if not names:
        return []
    for name, future in admin.delete_topics(names, operation_timeout=timeout_s).items():
        try:
            future.result()
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise TopicError(f"cannot delete {name}: {exc}") from exc
    deadline = time.monotonic() + timeout_s
    while set(names) & set(_metadata(admin, timeout_s).topics):
        if time.monotonic() > deadline:
            raise TopicError(f"topics still present after {timeout_s:.0f} s: {names}")
        time.sleep(0.2)
    return names
