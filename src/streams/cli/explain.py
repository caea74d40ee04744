"""``streams explain``: SHAP values of the explanation tier as a service (``serve``),
and anchors on demand (``anchor``)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from streams.cli.common import (
    EXIT_OK,
    add_bootstrap_override,
    add_connect_timeout_argument,
    add_documented_command,
    add_log_format_argument,
    add_loglevel_argument,
    add_model_argument,
    configure_logging,
    fail,
    port_number,
    select_model,
    stop_on_signals,
    wait_for_kafka,
    with_overrides,
)
from streams.errors import StreamsError

__all__ = ["register"]

HELP = "explain predictions: SHAP values as a service, anchors on demand"

SERVE_DESCRIPTION = """\
Consume the predictions topic of --config, keep each model's explanation tier
(sampling.explanation) of the models with an `explain:` section, compute SHAP
values in batches (exact for linear models, shap's TreeExplainer for tree
ensembles, KernelExplainer otherwise) and produce them to the explanations topic,
keyed by prediction_id. Events that cannot be explained go to the dead-letter topic
with the reason. Offsets are committed once a round's records are delivered.
Needs the `explain` extra (pip install 'streams[explain]')."""

ANCHOR_DESCRIPTION = """\
The anchor of one prediction (Ribeiro et al. 2018): the rule made of a few of its
feature ranges under which the model answers the same with at least --precision,
on perturbations drawn from the artifact's background rows. Either --prediction-id
(looked up on its partition of the predictions topic) or --row (the features as JSON)."""

EXAMPLES = """examples:
  streams explain serve --config monitor.yaml
  streams explain anchor --config monitor.yaml --prediction-id a1b2
  streams explain anchor --config monitor.yaml --row '{"amount": 120.5, "country": "DE"}'

See docs/explain.md.
"""


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``explain`` and its sub-commands."""
    parser = add_documented_command(subparsers, "explain", HELP, HELP + ".", EXAMPLES)
    sub = parser.add_subparsers(dest="explain_command", metavar="SUBCOMMAND", required=True)
    serve = add_documented_command(sub, "serve", "the explanation service", SERVE_DESCRIPTION, "")
    serve.add_argument("--config", required=True, help="monitor config YAML")
    add_bootstrap_override(serve)
    serve.add_argument(
        "--group", default="streams-explain", help="consumer group (default: %(default)s)"
    )
    serve.add_argument(
        "--max-messages",
        type=int,
        default=500,
        help="messages per round: one commit, each model's rows explained in batches "
        "(default: %(default)s)",
    )
    serve.add_argument(
        "--start",
        choices=["earliest", "latest"],
        default="latest",
        help="where a new group starts (default: %(default)s: explain from now on)",
    )
    serve.add_argument(
        "--metrics-port",
        type=port_number,
        default=None,
        metavar="PORT",
        help="serve the service's counters (streams_explain_*) on PORT, on the config's "
        "worker.metrics_host with its TLS and basic auth (default: not served)",
    )
    add_connect_timeout_argument(serve, forever=True)
    add_loglevel_argument(serve)
    add_log_format_argument(serve)
    serve.set_defaults(func=run_serve)

    anchor = add_documented_command(
        sub, "anchor", "the anchor of one prediction", ANCHOR_DESCRIPTION, ""
    )
    anchor.add_argument("--config", required=True, help="monitor config YAML")
    add_model_argument(anchor)
    add_bootstrap_override(anchor)
    which = anchor.add_mutually_exclusive_group(required=True)
    which.add_argument("--prediction-id", help="a prediction on the predictions topic")
    which.add_argument("--row", metavar="JSON", help="the features, as a JSON object")
    anchor.add_argument(
        "--precision", type=float, default=0.95, help="target precision tau (default: %(default)s)"
    )
    anchor.add_argument("--seed", type=int, default=0, help="perturbation seed (default: 0)")
    anchor.add_argument(
        "--format",
        choices=["text", "json"],
        default="text",
        help="the rule and its numbers as lines, or one JSON object (default: %(default)s)",
    )
    add_connect_timeout_argument(anchor)
    anchor.set_defaults(func=run_anchor)
    return parser


def run_serve(args: argparse.Namespace) -> int:
    """Handler of ``streams explain serve``."""
    configure_logging(args.loglevel, args.log_format)
    from streams.config.loading import load_config
    from streams.explain.models import explained_models
    from streams.explain.service import ExplanationService
    from streams.kafka.admin import TopicSpec, ensure_topics
    from streams.sampling import Tier

    try:
        config = with_overrides(load_config(args.config), args)
        models = explained_models(config)
    except StreamsError as exc:
        return fail(str(exc), "explain serve")
    kafka, worker = config.kafka, config.worker
    service = ExplanationService(
        models,
        bootstrap=kafka.bootstrap,
        security=kafka.security,
        topic=kafka.topics.predictions,
        explanations_topic=kafka.topics.explanations,
        deadletter_topic=kafka.topics.deadletter,
        group=args.group,
        max_event_bytes=worker.max_event_bytes,
        deadletter_max_bytes=worker.deadletter_max_bytes,
        max_messages=args.max_messages,
        start=args.start,
    )
    log = logging.getLogger("streams.explain")
    with stop_on_signals() as stop:
        try:
            if not wait_for_kafka(kafka.bootstrap, args, "explain serve", stop, kafka.security):
                return EXIT_OK
            # partitioned as the predictions: an explanation lands on its prediction's partition
            topics = {kafka.topics.explanations: TopicSpec(kafka.partitions)}
            ensure_topics(kafka.bootstrap, topics, security=kafka.security)
            metrics = _serve_metrics(args.metrics_port, worker)
        except (StreamsError, OSError) as exc:
            return fail(str(exc), "explain serve")
        for model in models.values():
            e = model.explainer
            log.info(
                "explaining %s: %s (%s), tier %.4g, background %s",
                model.model_id,
                e.name,
                e.version,
                model.sampler.rates[Tier.explanation],
                e.background.hash,
            )
        service.run(stop)
    if metrics is not None:
        metrics.shutdown()
    return EXIT_OK


def _serve_metrics(port: int | None, worker: Any) -> Any:
    """The /metrics server, when --metrics-port asks for one."""
    if port is None:
        return None
    from streams.metrics_server import serve_metrics

    return serve_metrics(
        port, worker.metrics_host, tls=worker.metrics_tls, auth=worker.metrics_basic_auth
    )


def run_anchor(args: argparse.Namespace) -> int:
    """Handler of ``streams explain anchor``."""
    from streams.config.loading import load_config
    from streams.explain.anchor_request import anchor_of

    try:
        config = with_overrides(load_config(args.config), args)
        model = select_model(config, args.config, args.model)
        anchor = anchor_of(config, model, args)
    except (StreamsError, ValueError) as exc:
        return fail(str(exc), "explain anchor")
    if args.format == "json":
        json.dump(anchor, sys.stdout, indent=2)
        print()
    else:
        print(anchor["rule"])
        print(
            f"precision {anchor['precision']:.3f} (lower bound {anchor['precision_lower']:.3f}, "
            f"target {args.precision}), coverage {anchor['coverage']:.3f}, "
            f"{anchor['samples']} perturbations"
            + ("" if anchor["valid"] else "; no rule reached the target: the most precise found")
        )
    return EXIT_OK
