"""``streams silence add|list|remove``: silences on the compacted ``silences`` topic,
one record per model and category, that every worker reads whole. What a silence
covers is decided in :mod:`streams.alerting.silences`."""

from __future__ import annotations

import argparse
import getpass
from datetime import UTC, datetime

from streams.alerting.silences import parse_until, silence_key
from streams.cli.common import (
    EXIT_OK,
    add_bootstrap_override,
    add_connect_timeout_argument,
    fail,
    wait_for_kafka,
)
from streams.config.loading import ConfigError, load_config
from streams.config.models import KafkaSecurity, MonitorConfig
from streams.errors import StreamsError
from streams.events.models import AlertCategory, Silence
from streams.kafka.errors import BrokerError

DESCRIPTION = (
    "Silences live on the compacted silences topic; workers mark the "
    "covered firing alerts as silenced (still on the alerts topic) and the router "
    "does not page them. Resolutions always go through."
)


def _produce(
    bootstrap: str, topic: str, key: str, value: bytes | None, security: KafkaSecurity
) -> None:
    """Write one silence (None: a tombstone that lifts it) and wait for the broker's ack."""
    from confluent_kafka import Producer

    from streams.kafka.admin import TopicSpec, ensure_topics
    from streams.kafka.broadcast import BROADCAST_TOPIC_CONFIG
    from streams.kafka.security import client_settings

    ensure_topics(bootstrap, {topic: TopicSpec(1, BROADCAST_TOPIC_CONFIG)}, security=security)
    errors: list[str] = []
    producer = Producer({**client_settings(bootstrap, security), "acks": "all", "log_level": 3})
    producer.produce(
        topic,
        key=key.encode(),
        value=value,
        on_delivery=lambda err, _m: errors.append(str(err)) if err else None,
    )
    if producer.flush(30) or errors:
        raise BrokerError(f"silence not delivered to {topic}: {errors or 'timeout'}")


def _list(
    bootstrap: str, topic: str, now: datetime, show_expired: bool, security: KafkaSecurity
) -> None:
    """Print one line per silence: the active ones, and the expired ones if asked."""
    from streams.kafka.broadcast import BroadcastReader

    reader = BroadcastReader(bootstrap, topic, security)
    shown = 0
    for raw in reader.load().values():
        s = Silence.model_validate_json(raw)
        if s.until > now or show_expired:
            state = "active" if s.until > now else "expired"
            print(
                f"{s.model_id} {s.category.value}: {state} until "
                f"{s.until:%Y-%m-%dT%H:%M:%SZ}, by {s.by}: {s.reason}"
            )
            shown += 1
    reader.close()
    if not shown:
        print("no active silences")


def _silence(args: argparse.Namespace, now: datetime) -> Silence:
    """The silence ``add`` asks for; ValueError when --until is not in the future."""
    until = parse_until(args.until, now)
    if until <= now:
        raise ValueError(f"--until {args.until!r} is not in the future")
    return Silence(
        model_id=args.model,
        category=AlertCategory(args.category),
        until=until,
        by=args.by or getpass.getuser(),
        reason=args.reason,
        created_at=now,
    )


def _audit(config: MonitorConfig, bootstrap: str, action: str, details: dict) -> None:
    """The operator's action on the audit log (a warning line if it cannot be written)."""
    from streams.audit.oneshot import record_action

    kafka = config.kafka.model_copy(update={"bootstrap": bootstrap})
    record_action(config.model_copy(update={"kafka": kafka}), "silence", action, details)


def run(args: argparse.Namespace) -> int:
    """Handler of ``streams silence``: one line of output, exit 1 on any error."""
    now = datetime.now(UTC)
    try:
        config = load_config(args.config)
        bootstrap = args.bootstrap or config.kafka.bootstrap
        topic = config.kafka.topics.silences
        if args.action != "list" and config.model(args.model) is None:
            raise ConfigError(f"{args.config}: no model {args.model!r}")
        silence = _silence(args, now) if args.action == "add" else None
        security = config.kafka.security
        wait_for_kafka(bootstrap, args, "silence", security=security)
        if args.action == "list":
            _list(bootstrap, topic, now, args.all, security)
            return EXIT_OK
        key = silence_key(args.model, args.category)
        if silence is None:  # remove
            _produce(bootstrap, topic, key, None, security)
            print(f"removed the silence of {args.model} {args.category}")
            _audit(config, bootstrap, "silence_removed", {"key": key})
            return EXIT_OK
        _produce(bootstrap, topic, key, silence.model_dump_json().encode(), security)
        _audit(config, bootstrap, "silence_added", silence.model_dump(mode="json"))
    except (StreamsError, ValueError) as exc:  # ValueError: pydantic's ValidationError too
        return fail(str(exc), "silence")
    print(
        f"silenced {args.model} {args.category} until {silence.until:%Y-%m-%dT%H:%M:%SZ} "
        f"(by {silence.by}: {silence.reason})"
    )
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``silence`` command group: ``add``, ``remove`` and ``list``."""
    help_text = "silence a model's alerts of one category for a while (who and why recorded)"
    p = sub.add_parser("silence", help=help_text, description=DESCRIPTION)
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    categories = [c.value for c in AlertCategory]
    add = actions.add_parser("add", help="add or replace a silence")
    add.add_argument("--model", required=True, help="model id in --config")
    add.add_argument(
        "--category", required=True, choices=categories, help="alert category to silence"
    )
    add.add_argument("--until", required=True, help="ISO 8601 time or duration (30m, 4h, 2d)")
    add.add_argument("--reason", required=True, help="why: shown to whoever reads the alert")
    add.add_argument("--by", help="who (default: the login name)")
    remove = actions.add_parser("remove", help="lift a silence now")
    remove.add_argument("--model", required=True, help="model id in --config")
    remove.add_argument(
        "--category", required=True, choices=categories, help="alert category to un-silence"
    )
    listing = actions.add_parser("list", help="show the active silences")
    listing.add_argument("--all", action="store_true", help="expired ones too")
    for action in (add, remove, listing):
        action.add_argument("--config", required=True, help="monitor config YAML")
        add_bootstrap_override(action)
        add_connect_timeout_argument(action)
        action.set_defaults(func=run)
