"""A loopback stand-in for the PagerDuty Events API v2 (POST /v2/enqueue).

PagerDuty cannot be reached from here, so tests send to this server instead. It
enforces the documented contract of an event (routing_key of 32 characters,
event_action, dedup_key rules, payload with summary of at most 1024 characters,
source and severity for triggers) and answers as PagerDuty does: 202 with a
dedup_key, 400 with errors for an invalid event, and, when a test asks for it,
429 or 500.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SEVERITIES = {"critical", "error", "warning", "info"}
ACTIONS = {"trigger", "acknowledge", "resolve"}


def contract_errors(event: Any) -> list[str]:
    """What makes an event invalid under the Events API v2 documentation."""
    if not isinstance(event, dict):
        return ["event must be a JSON object"]
    errors = []
    key = event.get("routing_key")
    if not isinstance(key, str) or len(key) != 32:
        errors.append("routing_key must be a 32-character string")
    action = event.get("event_action")
    if action not in ACTIONS:
        errors.append(f"event_action must be one of {sorted(ACTIONS)}")
    dedup = event.get("dedup_key")
    if dedup is not None and (not isinstance(dedup, str) or len(dedup) > 255):
        errors.append("dedup_key must be a string of at most 255 characters")
    if action in {"acknowledge", "resolve"} and not dedup:
        errors.append(f"dedup_key is required to {action}")
    if action == "trigger":
        payload = event.get("payload")
        if not isinstance(payload, dict):
            errors.append("payload is required to trigger")
        else:
            summary = payload.get("summary")
            if not isinstance(summary, str) or not summary or len(summary) > 1024:
                errors.append("payload.summary must be 1 to 1024 characters")
            if not isinstance(payload.get("source"), str) or not payload["source"]:
                errors.append("payload.source is required")
            if payload.get("severity") not in SEVERITIES:
                errors.append(f"payload.severity must be one of {sorted(SEVERITIES)}")
            details = payload.get("custom_details")
            if details is not None and not isinstance(details, dict | str):
                errors.append("payload.custom_details must be an object")
    return errors


@dataclass
class PagerDutyStandIn:
    """Start with ``start()``; ``url`` is the enqueue endpoint; ``accepted`` the events
    that got a 202; ``respond_next`` queues forced status codes (429, 500...);
    until ``outage_until`` (a ``time.monotonic()`` value) every request gets a 503;
    ``requests`` counts every POST answered."""

    host: str = "127.0.0.1"
    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[tuple[Any, list[str]]] = field(default_factory=list)
    respond_next: deque[int] = field(default_factory=deque)
    outage_until: float = 0.0
    requests: int = 0
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return f"http://{self.host}:{self._server.server_address[1]}/v2/enqueue"

    def start(self) -> PagerDutyStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                standin.requests += 1
                if self.path != "/v2/enqueue":
                    return self._reply(404, {"status": "not found"})
                if time.monotonic() < standin.outage_until:
                    return self._reply(503, {"status": "unavailable"})
                if standin.respond_next:
                    code = standin.respond_next.popleft()
                    return self._reply(code, {"status": "throttled" if code == 429 else "error"})
                try:
                    event = json.loads(body)
                except ValueError:
                    standin.rejected.append((body, ["body is not JSON"]))
                    return self._reply(
                        400, {"status": "invalid event", "errors": ["body is not JSON"]}
                    )
                errors = contract_errors(event)
                if errors:
                    standin.rejected.append((event, errors))
                    return self._reply(
                        400,
                        {
                            "status": "invalid event",
                            "message": "Event object is invalid",
                            "errors": errors,
                        },
                    )
                standin.accepted.append(event)
                self._reply(
                    202,
                    {
                        "status": "success",
                        "message": "Event processed",
                        "dedup_key": event.get("dedup_key") or "generated",
                    },
                )

            def _reply(self, code: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
