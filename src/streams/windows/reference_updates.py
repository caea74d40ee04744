"""The compacted ``references`` topic: one published profile per model, which workers
read at start and while running, so a new reference needs no restart.

A published profile must keep the bins of the model's configured reference: live
windows are sketched on those bins, and a histogram on other bins cannot be compared
with them. ``streams reference publish --input`` builds the new profile on the old
bins; a worker refuses (and counts) a profile on other bins, keeping its current one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from confluent_kafka import KafkaException, Producer

from streams.config.models import KafkaSecurity
from streams.kafka.admin import TopicSpec, ensure_topics
from streams.kafka.broadcast import BROADCAST_TOPIC_CONFIG, MAX_MESSAGE_BYTES
from streams.kafka.errors import BrokerError
from streams.kafka.security import client_settings
from streams.windows.reference_profile import ReferenceProfile

log = logging.getLogger(__name__)


def publish_reference(
    bootstrap: str,
    topic: str,
    model_id: str,
    profile: ReferenceProfile,
    timeout_s: float = 30,
    security: KafkaSecurity | None = None,
) -> int:
    """Publish ``profile`` as the reference of ``model_id``; returns its size in bytes."""
    ensure_topics(bootstrap, {topic: TopicSpec(1, BROADCAST_TOPIC_CONFIG)}, security=security)
    value = profile.to_bytes()
    errors: list[str] = []
    producer = Producer(
        {
            **client_settings(bootstrap, security),
            "message.max.bytes": MAX_MESSAGE_BYTES + 1024,
            "acks": "all",
            "log_level": 3,
        }
    )

    def delivered(err: object, _msg: object) -> None:
        if err is not None:
            errors.append(str(err))

    try:
        producer.produce(topic, key=model_id.encode(), value=value, on_delivery=delivered)
    except KafkaException as exc:
        raise BrokerError(f"cannot publish to {topic}: {exc}") from None
    if producer.flush(timeout_s) or errors:
        raise BrokerError(
            f"reference for {model_id} not delivered to {topic}: {errors or 'timeout'}"
        )
    return len(value)


@dataclass(frozen=True, slots=True)
class Update:
    model_id: str
    profile: ReferenceProfile | None  # None: refused
    reason: str = ""


def accept(
    published: Mapping[str, bytes | None], current: Mapping[str, ReferenceProfile]
) -> list[Update]:
    """The published profiles a worker may use instead of its ``current`` ones: only for
    configured models, and only on the same bins. Removed keys change nothing."""
    updates = []
    for model_id, raw in published.items():
        base = current.get(model_id)
        if raw is None or base is None:
            continue
        try:
            profile = ReferenceProfile.from_bytes(raw)
        except (ValueError, KeyError) as exc:
            updates.append(Update(model_id, None, f"unreadable: {exc}"))
            continue
        missing = sorted(set(base.features) - set(profile.features))
        differ = profile.bins_differ(base)
        if missing or differ:
            why = f"lacks {', '.join(missing)}" if missing else f"other bins: {', '.join(differ)}"
            updates.append(Update(model_id, None, why))
        else:
            features = {n: profile.features[n] for n in base.features}
            updates.append(
                Update(model_id, ReferenceProfile(features, profile.rows, profile.source))
            )
    return updates
