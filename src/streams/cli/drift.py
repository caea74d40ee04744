"""``streams drift``: the live drift engine and data-quality checks over two files, for
backtests and for data-pipeline CI. Exit 0 without a finding, 1 with drift or a
data-quality finding, 2 on any error."""

from __future__ import annotations

import argparse
from pathlib import Path

from streams.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    add_documented_command,
    add_model_argument,
    fail,
    select_model,
)
from streams.config.loading import load_config
from streams.config.models import ModelConfig
from streams.errors import StreamsError

EXIT_NO_DRIFT, EXIT_DRIFT, EXIT_ERROR = EXIT_OK, EXIT_FAILURE, EXIT_USAGE

HELP = "compare two data files with the drift engine (exit 1 on drift or bad data)"

DESCRIPTION = """\
Compare a current data file with a reference (a data file or a profile from
`streams reference build`) using the same sketches, methods, thresholds and
multiple-testing correction as the worker, and the worker's data-quality checks:
per feature the missing rate, the zero rate and the share of values outside the
reference's [min, max], each against the reference's own (limits: the model's
thresholds). Exit status: 0 no finding, 1 drift or a data-quality finding,
2 error (unreadable file, bad config, missing columns).
"""

EPILOG = """\
examples:
  streams drift --reference train.parquet --current today.parquet
  streams drift --reference ref.json --current batch.csv --config monitor.yaml --format json
  streams drift --reference a.jsonl --current b.jsonl --format html --output report.html
"""


def _model(config_path: str | None, model_id: str | None) -> ModelConfig | None:
    """The model whose features and drift settings to use; None without --config."""
    if not config_path:
        return None
    return select_model(load_config(config_path), config_path, model_id)


def cmd_drift(args: argparse.Namespace) -> int:
    """Handler of ``streams drift``: the report, and the verdict as the exit status."""
    from tqdm import tqdm

    from streams.offline.compare import run_comparison
    from streams.offline.html_report import render_html
    from streams.offline.render import render_json, render_table

    try:
        model = _model(args.config, args.model)
        with tqdm(total=2, desc="sketching", unit="file", disable=None, leave=False) as bar:
            result = run_comparison(
                Path(args.reference), Path(args.current), model, progress=lambda _: bar.update()
            )
    except (StreamsError, ValueError, OSError) as exc:
        return fail(str(exc), "drift", EXIT_ERROR)
    render = {"json": render_json, "html": render_html}.get(args.format, render_table)
    text = render(result)
    if args.output:
        Path(args.output).write_text(text + "\n")
    else:
        print(text)
    report = result.report
    drifted = report.dataset_drifted if args.fail_on == "dataset" else report.share_drifted > 0
    return EXIT_DRIFT if drifted or result.quality_breaches else EXIT_NO_DRIFT


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``drift`` sub-command."""
    p = add_documented_command(sub, "drift", HELP, DESCRIPTION, EPILOG)
    p.add_argument("--reference", required=True, help="reference: .csv/.parquet/.jsonl or .json")
    p.add_argument("--current", required=True, help="current data: .csv, .parquet or .jsonl")
    p.add_argument(
        "--config",
        help="monitor config: features, types and drift settings of --model "
        "(default: every reference column, types inferred, default settings)",
    )
    add_model_argument(p)
    p.add_argument(
        "--format",
        choices=["table", "json", "html"],
        default="table",
        help="table: one line per feature; json: every statistic; html: one page with "
        "charts that works offline (default: %(default)s)",
    )
    p.add_argument("--output", help="write the report here instead of stdout")
    p.add_argument(
        "--fail-on",
        choices=["feature", "dataset"],
        default="feature",
        help="exit 1 when any feature drifts (default), or only on the dataset verdict "
        "(share of drifted features >= drift.dataset_share); a data-quality finding "
        "exits 1 either way",
    )
    p.set_defaults(func=cmd_drift)
