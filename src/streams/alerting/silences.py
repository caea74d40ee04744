"""Silences: ``streams silence add|list|remove``, kept on the compacted ``silences``
topic (one record per model and category) that every worker reads whole.

A silenced alert is still produced to ``alerts`` (with who silenced it, until when
and why), so the incident's record stays complete; the router does not page it.
Resolutions are never silenced: an incident paged before the silence must close.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from confluent_kafka import Producer
from pydantic import ValidationError

from streams.config.loading import ConfigError, load_config
from streams.events.models import AlertCategory, AlertEvent, Silence
from streams.kafka.admin import TopicSpec, ensure_topics
from streams.kafka.broadcast import BROADCAST_TOPIC_CONFIG, BroadcastReader
from streams.kafka.errors import BrokerError


def silence_key(model_id: str, category: str) -> str:
    return f"{model_id}|{category}"


def active_silence(
    silences: Mapping[str, bytes], alert: AlertEvent, now: datetime
) -> Silence | None:
    """The silence covering a firing alert now, if any (unreadable records are skipped)."""
    if alert.status != "firing" or alert.model_id is None:
        return None
    raw = silences.get(silence_key(alert.model_id, alert.category.value))
    if raw is None:
        return None
    try:
        silence = Silence.model_validate_json(raw)
    except ValidationError:
        return None
    return silence if now < silence.until else None


def parse_until(text: str, now: datetime) -> datetime:
    """An ISO 8601 time (UTC if no zone) or a duration from now: 30m, 4h, 2d.

    >>> now = datetime(2026, 1, 1, tzinfo=UTC)
    >>> parse_until("4h", now).isoformat(), parse_until("2026-01-02T10:00", now).isoformat()
    ('2026-01-01T04:00:00+00:00', '2026-01-02T10:00:00+00:00')
    """
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if text[-1:] in units and text[:-1].replace(".", "", 1).isdigit():
        return now + timedelta(**{units[text[-1]]: float(text[:-1])})
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--until {text!r}: use an ISO 8601 time (2026-01-02T10:00Z) or a duration "
            "(30m, 4h, 2d)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _produce(bootstrap: str, topic: str, key: str, value: bytes | None) -> None:
    ensure_topics(bootstrap, {topic: TopicSpec(1, BROADCAST_TOPIC_CONFIG)})
    errors: list[str] = []
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "log_level": 3})
    producer.produce(
        topic,
        key=key.encode(),
        value=value,
        on_delivery=lambda err, _m: errors.append(str(err)) if err else None,
    )
    if producer.flush(30) or errors:
        raise BrokerError(f"silence not delivered to {topic}: {errors or 'timeout'}")


def cmd_silence(args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    try:
        config = load_config(args.config)
        bootstrap = args.bootstrap or config.kafka.bootstrap
        topic = config.kafka.topics.silences
        if args.action == "list":
            reader = BroadcastReader(bootstrap, topic)
            shown = 0
            for raw in reader.load().values():
                s = Silence.model_validate_json(raw)
                if s.until > now or args.all:
                    state = "active" if s.until > now else "expired"
                    print(
                        f"{s.model_id} {s.category.value}: {state} until "
                        f"{s.until:%Y-%m-%dT%H:%M:%SZ}, by {s.by}: {s.reason}"
                    )
                    shown += 1
            reader.close()
            if not shown:
                print("no active silences")
            return 0
        if config.model(args.model) is None:
            raise ConfigError(f"{args.config}: no model {args.model!r}")
        key = silence_key(args.model, args.category)
        if args.action == "remove":
            _produce(bootstrap, topic, key, None)
            print(f"removed the silence of {args.model} {args.category}")
            return 0
        until = parse_until(args.until, now)
        if until <= now:
            raise ValueError(f"--until {args.until!r} is not in the future")
        silence = Silence(
            model_id=args.model,
            category=AlertCategory(args.category),
            until=until,
            by=args.by or getpass.getuser(),
            reason=args.reason,
            created_at=now,
        )
        _produce(bootstrap, topic, key, silence.model_dump_json().encode())
    except (ConfigError, ValueError, BrokerError, ValidationError) as exc:
        print(f"streams silence: error: {exc}", file=sys.stderr)
        return 1
    print(
        f"silenced {args.model} {args.category} until {until:%Y-%m-%dT%H:%M:%SZ} "
        f"(by {silence.by}: {silence.reason})"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "silence",
        help="silence a model's alerts of one category for a while (who and why recorded)",
        description="Silences live on the compacted silences topic; workers mark the "
        "covered firing alerts as silenced (still on the alerts topic) and the router "
        "does not page them. Resolutions always go through.",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    categories = [c.value for c in AlertCategory]
    add = actions.add_parser("add", help="add or replace a silence")
    add.add_argument("--model", required=True)
    add.add_argument("--category", required=True, choices=categories)
    add.add_argument("--until", required=True, help="ISO 8601 time or duration (30m, 4h, 2d)")
    add.add_argument("--reason", required=True, help="why: shown to whoever reads the alert")
    add.add_argument("--by", help="who (default: the login name)")
    remove = actions.add_parser("remove", help="lift a silence now")
    remove.add_argument("--model", required=True)
    remove.add_argument("--category", required=True, choices=categories)
    listing = actions.add_parser("list", help="show the active silences")
    listing.add_argument("--all", action="store_true", help="expired ones too")
    for action in (add, remove, listing):
        action.add_argument("--config", required=True, help="monitor config YAML")
        action.add_argument("--bootstrap", help="override kafka.bootstrap of the config")
        action.set_defaults(func=cmd_silence)
