"""``streams telemetry-agent``: run the node telemetry agent on a model-server node."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from streams.cli.common import (
    EXIT_OK,
    add_bootstrap_argument,
    add_documented_command,
    add_log_format_argument,
    add_loglevel_argument,
    configure_logging,
    fail,
    kafka_security,
    port_number,
    positive_seconds,
    stop_on_signals,
)
from streams.errors import StreamsError

__all__ = ["register"]

HELP = "sample this node's CPU, memory, disk, network and GPUs to Kafka and /metrics"

DESCRIPTION = """\
The infrastructure layer's agent for model-server nodes. Every --interval it reads
CPU utilization, memory, the root filesystem and network counters (psutil) and,
through NVML, each GPU's utilization, memory, temperature, power, uncorrected ECC
errors and clock-throttle reasons. It produces one TelemetryEvent keyed by node id
to --topic and serves the same readings as Prometheus metrics (streams_node_*,
streams_gpu_*, streams_telemetry_*) on http://METRICS_HOST:METRICS_PORT/metrics.
An unreachable broker is logged and retried, never fatal; a broker that refuses the
login or the TLS handshake (--kafka-security) is one error line and exit 1, at start
or whenever it happens. Stops cleanly on SIGTERM or Ctrl-C."""

EXAMPLES = """examples:
  streams telemetry-agent --once                    # check this node: print one event, no Kafka
  streams telemetry-agent                           # every 10 s to node-telemetry on 127.0.0.1:9092
  streams telemetry-agent --bootstrap kafka:9092 --interval 5 --metrics-host 0.0.0.0

Without an NVIDIA GPU or driver the agent runs all the same: it reports no GPUs and
says why in the event's nvml_errors (e.g. "nvmlInit: NVML Shared Library Not Found").
"""


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``telemetry-agent`` sub-command."""
    from streams.telemetry.agent import DEFAULT_METRICS_PORT, DEFAULT_TOPIC

    parser = add_documented_command(subparsers, "telemetry-agent", HELP, DESCRIPTION, EXAMPLES)
    add_bootstrap_argument(parser)
    parser.add_argument(
        "--topic",
        default=DEFAULT_TOPIC,
        help="topic to produce to; created with 4 partitions if missing (default: %(default)s)",
    )
    parser.add_argument(
        "--node-id",
        help="node name: the message key and the 'node' metric label (default: the hostname)",
    )
    parser.add_argument(
        "--interval",
        type=positive_seconds,
        default=10.0,
        metavar="SECONDS",
        help="seconds between samples (default: %(default)g)",
    )
    parser.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        help="address /metrics listens on; 0.0.0.0 for Prometheus on another host "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--metrics-port",
        type=port_number,
        default=DEFAULT_METRICS_PORT,
        help="port of /metrics; 0 picks a free one (default: %(default)s)",
    )
    parser.add_argument(
        "--once",
        action="store_true",
        help="sample once, print the event as JSON on stdout and exit; no Kafka, no /metrics",
    )
    add_loglevel_argument(parser)
    add_log_format_argument(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Handler of ``streams telemetry-agent``."""
    configure_logging(args.loglevel, args.log_format)
    from streams.kafka.reachability import probe_broker
    from streams.telemetry.agent import TelemetryAgent
    from streams.telemetry.metrics import agent_registry

    try:
        security = kafka_security(args)
    except StreamsError as exc:
        return fail(str(exc), "telemetry-agent")
    if args.once:
        agent = TelemetryAgent(args.bootstrap, args.topic, args.node_id, metrics_port=None)
        try:
            event = agent.sample()
        finally:
            agent.close()
        print(event.to_json().decode())
        return EXIT_OK

    agent = TelemetryAgent(
        args.bootstrap,
        args.topic,
        args.node_id,
        args.interval,
        agent_registry(),
        metrics_host=args.metrics_host,
        metrics_port=args.metrics_port,
        security=security,
    )
    try:
        probe_broker(args.bootstrap, security=security)  # down is fine; refused is not
    except StreamsError as exc:
        return fail(str(exc), "telemetry-agent")
    with stop_on_signals() as stop:
        try:
            port = agent.serve_metrics()
        except OSError as exc:
            where = f"{args.metrics_host}:{args.metrics_port}"
            return fail(f"cannot serve /metrics on {where}: {exc}", "telemetry-agent")
        logging.getLogger("streams.telemetry").info(
            "node %s: sampling every %gs to %s on %s; metrics on http://%s:%d/metrics",
            agent.node_id,
            agent.interval_s,
            agent.topic,
            agent.bootstrap,
            args.metrics_host,
            port,
        )
        try:
            samples = agent.run(stop)
        except StreamsError as exc:  # BrokerRefused: a wrong password, an untrusted CA
            return fail(str(exc), "telemetry-agent")
    logging.getLogger("streams.telemetry").info(
        "stopped after %d samples (%d delivered, %d failed)",
        samples,
        agent.delivered,
        agent.failed,
    )
    return EXIT_OK
