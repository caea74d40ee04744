"""``streams demo``: local broker, a worker printing alerts and the simulator, together."""

from __future__ import annotations

import argparse

from streams.cli.common import duration_argument, port_number

DESCRIPTION = (
    "Starts the local Kafka broker (unless one answers on --port), a worker printing each "
    "alert and a status line, and the simulator playing a scenario. Once the simulation is "
    "over and the worker has caught up it prints what fired and stops everything it "
    "started; Ctrl-C does the same at any time."
)


def run(args: argparse.Namespace) -> int:
    """Handler of ``streams demo``: runs until the scenario is evaluated or Ctrl-C."""
    from streams.devtools.demo import run_demo

    return run_demo(
        scenario=args.scenario,
        port=args.port,
        rate=args.rate,
        speedup=args.speedup,
        duration_s=args.duration,
        metrics_port=args.metrics_port,
        keep_running=args.keep_running,
    )


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``demo`` sub-command."""
    from streams.devtools.simulator.scenarios import SCENARIOS

    p = sub.add_parser(
        "demo",
        help="local broker + worker + simulator: watch an alert fire",
        description=DESCRIPTION,
    )
    p.add_argument(
        "--scenario",
        default="silent-zeros",
        choices=list(SCENARIOS),
        help="what breaks in the served features (default: %(default)s)",
    )
    p.add_argument(
        "--port",
        type=port_number,
        default=9092,
        help="broker port on 127.0.0.1; the controller uses PORT+1 (default: %(default)s)",
    )
    p.add_argument(
        "--metrics-port",
        type=port_number,
        default=9108,
        help="port of the worker's /metrics (default: %(default)s)",
    )
    p.add_argument(
        "--rate",
        type=float,
        default=10.0,
        help="mean events per second of event time; at --speedup 60 the default makes "
        "600 events/s, which one worker keeps up with on 2 cores shared with the broker "
        "and the simulator (default: %(default)g)",
    )
    p.add_argument(
        "--speedup",
        type=float,
        default=60.0,
        help="event seconds per wall second (default: %(default)g)",
    )
    p.add_argument(
        "--duration",
        type=duration_argument,
        default=7200.0,
        metavar="D",
        help="event time to simulate: 90s, 30m, 2h (default: 2h)",
    )
    p.add_argument(
        "--keep-running",
        action="store_true",
        help="keep the worker running after the simulation, until Ctrl-C",
    )
    p.set_defaults(func=run)
