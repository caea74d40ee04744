"""``streams gateway``: an HTTP endpoint for model servers that cannot run the client."""

from __future__ import annotations

import argparse
import logging
import ssl
from typing import TYPE_CHECKING, Any

from streams.cli.common import (
    EXIT_OK,
    add_bootstrap_override,
    add_documented_command,
    add_loglevel_argument,
    config_or_demo,
    configure_logging,
    fail,
    port_number,
    positive_seconds,
    stop_on_signals,
    with_overrides,
)
from streams.errors import StreamsError

if TYPE_CHECKING:
    from streams.config.models import GatewayConfig
    from streams.http_security import BasicAuthGuard

__all__ = ["register"]

HELP = "accept predictions over HTTP (KServe inference logger, plain JSON) into Kafka"

DESCRIPTION = """\
Model servers plug in without code. POST / takes KServe's inference logger
CloudEvents: a request and its response (paired by ce-id, in either order; v1 and v2
Open Inference Protocol payloads) become one prediction per instance, with the
InferenceService name as model id (or as --model maps it) and prediction ids
<ce-id>:<i>. POST /v1/predictions takes prediction events as schemas/ defines them,
one object or a list. Everything is produced through the producer client to the
config's predictions topic, partitioned as the worker expects. The gateway never
blocks: with no room it answers 503 with Retry-After, a malformed post gets 400 and
the reason. GET /healthz and GET /metrics (Prometheus) for the operator. The config's
gateway.tls serves HTTPS and gateway.basic_auth refuses (401) any request without
its user and password (read from a file), as worker.metrics_tls and
worker.metrics_basic_auth do for /metrics."""

EXAMPLES = """examples:
  streams gateway --config monitor.yaml                       # http://127.0.0.1:8085
  streams gateway --config monitor.yaml --host 0.0.0.0 --model sklearn-iris=iris

monitor.yaml, to serve another host (docs/gateway.md, "HTTPS and basic auth"):
  gateway:
    tls: {cert_file: /etc/streams/tls.crt, key_file: /etc/streams/tls.key}
    basic_auth: {username: kserve, password_file: /etc/streams/gateway-password}

KServe InferenceService:
  spec:
    predictor:
      logger:
        mode: all
        url: http://streams-gateway.monitoring:8085/

See docs/gateway.md for the payloads and how predictions are read from them.
"""

DEFAULT_PORT = 8085


def _model_mapping(text: str) -> tuple[str, str]:
    service, sep, model = text.partition("=")
    if not sep or not service or not model:
        raise argparse.ArgumentTypeError(f"expected SERVICE=MODEL_ID, got {text!r}")
    return service, model


def _http_security(
    config: GatewayConfig,
) -> tuple[ssl.SSLContext | None, BasicAuthGuard | None]:
    """The TLS context and the credential check of ``gateway.tls`` and
    ``gateway.basic_auth``, loaded before anything listens: a file that will not load
    is one line naming it (never its content), not a server that refuses everyone."""
    from streams.http_security import BasicAuthGuard, server_tls_context

    tls = guard = None
    if config.tls is not None:
        try:
            tls = server_tls_context(config.tls)
        except (OSError, ssl.SSLError) as exc:
            why = exc.strerror or getattr(exc, "reason", None) or type(exc).__name__
            raise OSError(
                f"gateway.tls: cannot load {config.tls.cert_file} with {config.tls.key_file}: {why}"
            ) from None
    if config.basic_auth is not None:
        try:
            guard = BasicAuthGuard(config.basic_auth, "gateway")
        except OSError as exc:
            where = config.basic_auth.password_file
            why = f"cannot read {where}: {exc.strerror}" if exc.strerror else str(exc)
            raise OSError(f"gateway.basic_auth.password_file: {why}") from None
    return tls, guard


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``gateway`` sub-command."""
    parser = add_documented_command(subparsers, "gateway", HELP, DESCRIPTION, EXAMPLES)
    parser.add_argument(
        "--config", metavar="FILE", help="monitor config (default: the demo's, on the demo broker)"
    )
    add_bootstrap_override(parser)
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=port_number, default=DEFAULT_PORT, help="port (default: %(default)s)"
    )
    parser.add_argument(
        "--model",
        type=_model_mapping,
        action="append",
        default=[],
        metavar="SERVICE=MODEL_ID",
        help="InferenceService name to model id; repeat per model (default: the same name)",
    )
    parser.add_argument(
        "--queue-size",
        type=int,
        default=100_000,
        help="events the producer may hold; past it posts get 503 (default: %(default)s)",
    )
    parser.add_argument(
        "--max-waiting",
        type=int,
        default=10_000,
        help="KServe halves waiting for their other half; past it 503 (default: %(default)s)",
    )
    parser.add_argument(
        "--pair-timeout",
        type=positive_seconds,
        default=60.0,
        metavar="SECONDS",
        help="how long a half waits for the other before it is counted unpaired "
        "(default: %(default)g)",
    )
    add_loglevel_argument(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Handler of ``streams gateway``."""
    configure_logging(args.loglevel)
    from prometheus_client import CollectorRegistry

    from streams.client import PredictionLogger
    from streams.gateway.pairing import Pairing
    from streams.gateway.server import Gateway, serve

    try:
        config = with_overrides(config_or_demo(args.config), args)
    except StreamsError as exc:
        return fail(str(exc), "gateway")
    if args.queue_size < 1 or args.max_waiting < 1:
        return fail("--queue-size and --max-waiting must be at least 1", "gateway")
    try:
        tls, guard = _http_security(config.gateway)
    except (OSError, ssl.SSLError) as exc:
        return fail(str(exc), "gateway")
    registry = CollectorRegistry()
    features = {m.id: list(m.features) for m in config.models}
    with PredictionLogger(
        config.kafka.bootstrap,
        config.kafka.topics.predictions,
        queue_size=args.queue_size,
        registry=registry,
        security=config.kafka.security,
    ) as logger:
        gateway = Gateway(
            logger,
            args.queue_size,
            Pairing(args.max_waiting, args.pair_timeout),
            features,
            registry,
            dict(args.model),
        )
        with stop_on_signals() as stop:
            try:
                serve(gateway, args.host, args.port, stop, tls=tls, guard=guard)
            except OSError as exc:  # the port is taken, or the address is not ours
                return fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror}", "gateway")
    logging.getLogger("streams.gateway").info("stopped: %s", logger.stats())
    return EXIT_OK
