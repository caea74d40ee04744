"""AlertEvent -> PagerDuty Events API v2 event, and a sender that never drops one.

The mapping follows the Events API v2 contract: ``trigger`` for a firing alert and
``resolve`` for a resolved one, both with the alert's ``dedup_key`` so that PagerDuty
folds repeats into one incident (this is what makes a redelivery after a crash
harmless). The sender treats 400 as permanent (the event is invalid: retrying cannot
help, the caller dead-letters it) and everything else that is not a 2xx, 429, 5xx and
connection errors, as a delay: it retries with capped exponential backoff for as long
as the router runs, so an outage delays pages and never loses them.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any

from pydantic import SecretStr

from streams.backoff import Backoff
from streams.events.models import AlertEvent
from streams.router.rules import Route

__all__ = [
    "DEFAULT_URL",
    "PERMANENT_STATUSES",
    "SUMMARY_MAX",
    "Delivered",
    "PagerDutySender",
    "Rejected",
    "event_body",
    "masked",
]

log = logging.getLogger(__name__)

DEFAULT_URL = "https://events.pagerduty.com/v2/enqueue"
SUMMARY_MAX = 1024
PERMANENT_STATUSES = frozenset({400, 413})
"""Invalid event (400) or too large (413): the same bytes will never be accepted."""
MASK = "********"


def _link(href: str | None, text: str, base: str | None) -> dict[str, str] | None:
    """A link PagerDuty accepts: absolute only. Our runbook paths are repo-relative
    (``deploy/runbooks/gpu.md``) and become links only with a ``runbook_base_url``."""
    if not href:
        return None
    if not href.startswith(("https://", "http://")):
        if base is None:
            return None
        href = f"{base.rstrip('/')}/{href.lstrip('/')}"
    return {"href": href, "text": text}


def event_body(
    alert: AlertEvent,
    route: Route,
    routing_key: SecretStr | None,
    *,
    runbook_base_url: str | None = None,
) -> dict[str, Any]:
    """The Events API v2 body for one alert state change.

    A resolve carries only what PagerDuty reads for it (key, action, dedup_key). The
    summary is cut to PagerDuty's 1024 characters, never padded: an empty summary is
    sent as is and rejected (400), so a broken producer shows up in the dead-letter
    topic instead of as a made-up page. ``routing_key=None`` (a dry run without the
    key) sends the mask.
    """
    body: dict[str, Any] = {
        "routing_key": routing_key.get_secret_value() if routing_key is not None else MASK,
        "event_action": "trigger" if alert.status == "firing" else "resolve",
        "dedup_key": alert.dedup_key,
    }
    if alert.status == "resolved":
        return body
    details: dict[str, Any] = {
        **alert.evidence.model_dump(mode="json"),
        "subject": alert.subject,
        "team": route.team,
        "first_seen": alert.first_seen.isoformat(),
        "last_seen": alert.last_seen.isoformat(),
    }
    if alert.root_cause is not None:  # an update's news is in these: show them
        details |= {"root_cause": alert.root_cause, "corroborating": alert.corroborating}
    if alert.update:
        details["update"] = True
    payload: dict[str, Any] = {
        "summary": alert.summary[:SUMMARY_MAX],
        "source": f"streams/{alert.model_id or alert.subject}",
        "severity": alert.severity.value,
        "timestamp": alert.last_seen.isoformat(),
        "component": alert.layer,
        "class": alert.category.value,
        "custom_details": details,
    }
    if alert.model_id is not None:
        payload["group"] = alert.model_id
    body["payload"] = payload
    links = [
        _link(alert.runbook_url, "Runbook", runbook_base_url),
        _link(route.dashboard_url, "Dashboard", None),
    ]
    if any(links):
        body["links"] = [link for link in links if link]
    body["client"] = "streams alert-router"
    return body


def masked(body: dict[str, Any]) -> dict[str, Any]:
    """The body with its routing key replaced: the only form that may be printed."""
    return {**body, "routing_key": MASK}


@dataclass(frozen=True)
class Delivered:
    status: int
    attempts: int


@dataclass(frozen=True)
class Rejected:
    """PagerDuty refused the event for good; ``body`` is its error answer."""

    status: int
    body: str
    attempts: int


class PagerDutySender:
    """POSTs bodies to the Events API with retries (stdlib urllib, so no new dependency)."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        backoff: Backoff | None = None,
        timeout_s: float = 10.0,
        opener: urllib.request.OpenerDirector | None = None,
    ) -> None:
        self.url = url
        self.backoff = backoff or Backoff()
        self.timeout_s = timeout_s
        self._opener = opener or urllib.request.build_opener()

    def __repr__(self) -> str:
        return f"PagerDutySender(url={self.url!r}, backoff={self.backoff!r})"

    def post(self, body: dict[str, Any]) -> tuple[int | None, str]:
        """One attempt: the HTTP status (None when no answer came) and the answer text."""
        request = urllib.request.Request(
            self.url,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "User-Agent": "streams-alert-router"},
            method="POST",
        )
        try:
            with self._opener.open(request, timeout=self.timeout_s) as response:
                return response.status, response.read(65536).decode(errors="replace")
        except urllib.error.HTTPError as exc:
            try:
                text = exc.read(65536).decode(errors="replace")
            except (OSError, HTTPException):
                text = ""
            return exc.code, text
        except (urllib.error.URLError, OSError, HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            return None, f"{type(exc).__name__}: {reason}"

    def send(self, body: dict[str, Any], stop: threading.Event) -> Delivered | Rejected | None:
        """Deliver one event: retried until a 2xx or a permanent refusal; None only when
        ``stop`` is set while waiting (the caller must then not commit)."""
        what = f"{body.get('event_action')} {body.get('dedup_key')!r}"
        attempt = 0
        while True:
            status, text = self.post(body)
            attempt += 1
            if status is not None and 200 <= status < 300:
                if attempt > 1:
                    log.info("%s delivered after %d attempts", what, attempt)
                return Delivered(status, attempt)
            if status in PERMANENT_STATUSES:
                return Rejected(status, text[:2000], attempt)
            delay = self.backoff.delay(attempt - 1)
            answer = f"HTTP {status}" if status is not None else text
            log.warning(
                "%s not delivered (%s); retry %d in %.1fs", what, answer[:200], attempt, delay
            )
            if stop.wait(delay):
                log.warning("%s: stopping with it undelivered (not committed)", what)
                return None
