"""``streams demo``: local broker, a worker printing alerts and the simulator, together."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    """Handler of ``streams demo``: runs until the scenario ends or Ctrl-C."""
    from streams.devtools.demo import run_demo

    return run_demo(
        scenario=args.scenario,
        port=args.port,
        rate=args.rate,
        speedup=args.speedup,
        duration=args.duration,
    )


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``demo`` sub-command."""
    p = sub.add_parser(
        "demo",
        help="local broker + worker + simulator: watch an alert fire",
        description="Starts the local Kafka broker, a worker printing alerts "
        "and the simulator playing a scenario; Ctrl-C stops all of them.",
    )
    p.add_argument("--scenario", default="silent-zeros")
    p.add_argument("--port", type=int, default=9092, help="broker port")
    p.add_argument("--rate", default="20", help="events per second of event time")
    p.add_argument("--speedup", default="60", help="event seconds per wall second")
    p.add_argument("--duration", default="2h", help="event time to simulate")
    p.set_defaults(func=run)
