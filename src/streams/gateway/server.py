"""The gateway's HTTP side: model servers plug in without code.

``POST /`` (and ``/v1/cloudevents``) takes KServe's inference logger CloudEvents;
``POST /v1/predictions`` takes prediction events as this project defines them (one
object or a list). Both produce through the producer client, so partitioning, batching
and the bounded queue are the client's. The gateway never blocks its caller: when the
client's queue or the pairing table has no room it answers 503 with ``Retry-After``
(KServe's logger retries), a malformed post gets 400 with the reason, and an accepted
one 202. ``GET /healthz`` says whether the broker's partitions are known;
``GET /metrics`` serves the gateway's and the client's counters. With the config's
``gateway.basic_auth`` every route answers 401 to a request without the credentials
(:mod:`streams.http_security`, as /metrics does); with ``gateway.tls`` it speaks HTTPS.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from pydantic import ValidationError

from streams.client import InvalidEvent, PredictionLogger
from streams.events.models import PredictionEvent
from streams.gateway.kserve import (
    BadInferenceEvent,
    InferenceEvent,
    prediction_events,
    read_cloudevent,
)
from streams.gateway.pairing import Pairing
from streams.http_security import BasicAuthGuard

log = logging.getLogger(__name__)
#: Seconds a caller turned away for lack of room is told to wait.
RETRY_AFTER_S = 1


class Gateway:
    """The handlers; ``features`` gives, per model, the names of list-form instances."""

    def __init__(
        self,
        logger: PredictionLogger,
        queue_size: int,
        pairing: Pairing,
        features: Mapping[str, Sequence[str]],
        registry: CollectorRegistry,
        models: Mapping[str, str] | None = None,
    ) -> None:
        self.logger = logger
        self.queue_size = queue_size
        self.pairing = pairing
        self.features = features
        self.models = dict(models or {})
        self.registry = registry
        self.requests = Counter(
            "streams_gateway_requests",
            "HTTP posts answered, by route and status code.",
            ["route", "code"],
            registry=registry,
        )
        self.predictions = Counter(
            "streams_gateway_predictions",
            "Prediction events handed to the producer client, by source.",
            ["source"],
            registry=registry,
        )
        self.unpaired = Counter(
            "streams_gateway_unpaired",
            "KServe request or response halves that never met the other, by reason.",
            ["reason"],
            registry=registry,
        )
        waiting = Gauge(
            "streams_gateway_waiting_halves",
            "KServe halves waiting for the other half of their exchange.",
            registry=registry,
        )
        waiting.set_function(lambda: len(self.pairing))

    def app(self, guard: BasicAuthGuard | None = None) -> web.Application:
        middlewares = [] if guard is None else [_basic_auth(guard, self.requests)]
        app = web.Application(client_max_size=8 * 1024 * 1024, middlewares=middlewares)
        app.router.add_post("/", self.cloudevent)
        app.router.add_post("/v1/cloudevents", self.cloudevent)
        app.router.add_post("/v1/predictions", self.plain)
        app.router.add_get("/healthz", self.health)
        app.router.add_get("/metrics", self.metrics)
        return app

    async def cloudevent(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            half = read_cloudevent(request.headers, body)
        except BadInferenceEvent as error:
            return self._answer("cloudevent", 400, str(error))
        half = _renamed(half, self.models)
        if self.pairing.full():
            return self._busy("cloudevent", "too many exchanges waiting for their other half")
        before = dict(self.pairing.unpaired)
        pair = self.pairing.offer(half)
        for reason, n in self.pairing.unpaired.items():
            if n > before.get(reason, 0):
                self.unpaired.labels(reason).inc(n - before.get(reason, 0))
        if pair is None:
            return self._answer("cloudevent", 202, "waiting for the other half")
        try:
            events = prediction_events(*pair, self.features.get(pair[0].model, ()))
        except BadInferenceEvent as error:
            return self._answer("cloudevent", 400, str(error))
        return self._log("cloudevent", events, "kserve")

    async def plain(self, request: web.Request) -> web.Response:
        try:
            document = orjson.loads(await request.read())
        except orjson.JSONDecodeError as error:
            return self._answer("predictions", 400, f"body is not JSON: {error}")
        events = document if isinstance(document, list) else [document]
        return self._log("predictions", events, "json")

    def _log(self, route: str, events: list[Any], source: str) -> web.Response:
        """Validate every event, then queue them all, or answer why not."""
        checked = []
        for i, event in enumerate(events):
            try:
                checked.append(PredictionEvent.model_validate(event))
            except ValidationError as error:
                first = error.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "event"
                return self._answer(route, 400, f"event {i}: {where}: {first['msg']}")
        if self.logger.stats().queued + len(checked) > self.queue_size:
            return self._busy(route, "the producer's queue is full")
        accepted = 0
        for event in checked:
            try:
                accepted += self.logger.log(event)
            except InvalidEvent as error:
                return self._answer(route, 400, str(error))
        self.predictions.labels(source).inc(accepted)
        if accepted < len(checked):  # the queue filled meanwhile: the client counted them
            return self._busy(route, f"queued {accepted} of {len(checked)} events")
        return self._answer(route, 202, f"queued {accepted} prediction(s)")

    async def health(self, _request: web.Request) -> web.Response:
        stats = self.logger.stats()
        ready = stats.partitions is not None
        body = {
            "status": "ok" if ready else "waiting for the broker",
            "partitions": stats.partitions,
            "queued": stats.queued,
            "delivered": stats.delivered_events,
            "delivery_errors": stats.delivery_errors,
            "dropped": stats.dropped,
            "waiting_halves": len(self.pairing),
        }
        return web.json_response(body, status=200 if ready else 503, dumps=_dumps)

    async def metrics(self, _request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(self.registry), content_type="text/plain")

    def _busy(self, route: str, why: str) -> web.Response:
        response = self._answer(route, 503, why)
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response

    def _answer(self, route: str, code: int, message: str) -> web.Response:
        self.requests.labels(route, str(code)).inc()
        if code >= 400:
            log.info("%s: %d %s", route, code, message)
        return web.json_response({"message": message}, status=code, dumps=_dumps)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _basic_auth(guard: BasicAuthGuard, requests: Counter) -> Any:
    """A middleware answering 401 before any handler, or any read of the body, runs."""

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if guard.admits(request.headers.get("Authorization")):
            return await handler(request)
        requests.labels("auth", "401").inc()
        return web.json_response(
            {"message": "401 Unauthorized"},
            status=401,
            headers={"WWW-Authenticate": guard.challenge},
            dumps=_dumps,
        )

    return check


def _dumps(body: Any) -> str:
    return orjson.dumps(body).decode()


def _renamed(half: InferenceEvent, models: Mapping[str, str]) -> InferenceEvent:
    """The half under its model id in the monitor config (``--model SERVICE=ID``)."""
    model = models.get(half.model)
    return half if model is None else replace(half, model=model)


def serve(
    gateway: Gateway,
    host: str,
    port: int,
    stop: threading.Event,
    *,
    tls: ssl.SSLContext | None = None,
    guard: BasicAuthGuard | None = None,
) -> None:
    """Answer on ``host:port`` until ``stop`` is set: over HTTPS with ``tls``, only to
    the credentials ``guard`` admits with one."""

    async def main() -> None:
        runner = web.AppRunner(gateway.app(guard), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port, ssl_context=tls).start()
        scheme = "https" if tls is not None else "http"
        log.info("gateway listening on %s://%s:%d", scheme, host, port)
        try:
            while not stop.is_set():
                await asyncio.sleep(0.2)
        finally:
            await runner.cleanup()

    asyncio.run(main())
