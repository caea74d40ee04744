"""One audit record from a one-shot command (``silence``, ``reference publish``): sent
and waited for, since the process ends right after; a failure is a warning, the
operator's action itself already took effect."""

from __future__ import annotations

import sys
from typing import Any

from streams.audit.writer import AUDIT_TOPIC_CONFIG, SEND_TIMEOUT_S, AuditLog
from streams.config.models import MonitorConfig

__all__ = ["record_action"]


def record_action(
    config: MonitorConfig, command: str, action: str, details: dict[str, Any]
) -> bool:
    """Append ``action`` to the audit topic as writer ``cli``; False (and one warning
    line on stderr) when it was not delivered within the send timeout."""
    from streams.kafka.admin import TopicSpec, ensure_topics

    topic = config.kafka.topics.audit
    try:
        ensure_topics(config.kafka.bootstrap, {topic: TopicSpec(1, AUDIT_TOPIC_CONFIG)})
    except Exception as exc:  # the action is done; its record is what failed
        print(f"streams {command}: warning: audit topic {topic}: {exc}", file=sys.stderr)
        return False
    audit = AuditLog("cli", config.kafka.bootstrap, topic, security=config.kafka.security)
    audit.append(action, details)
    if audit.close(SEND_TIMEOUT_S):
        print(f"streams {command}: warning: audit record not delivered to {topic}", file=sys.stderr)
        return False
    return True
