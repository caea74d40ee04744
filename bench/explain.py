"""Explanations per second of the explanation service's work (no broker): each path
batched (the service's ``explain.batch_size``) against one row per call, and whether
one service keeps up with a 1 % explanation tier of 10,000 predictions/s.

The service also decodes every prediction to find its tier's (envelopes of 500, the
client's default), so that is measured too. Rows are the simulator's events; the tree
is the simulator's gradient-boosting model (80 trees of depth 3, 25 columns), the
linear model a logistic regression on the same columns, the kernel path a k-nearest-
neighbours classifier (10 k-means centres, 200 coalitions per row).

    .venv/bin/python bench/explain.py [--rows 2000] [--rate 10000] [--tier 0.01]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from streams.devtools.simulator.model import EventGenerator
from streams.devtools.simulator.tree_model import MODEL_COLUMNS, save_tree_artifact
from streams.events.decode import decode_message
from streams.events.envelope import encode_batch
from streams.explain.artifact import load_artifact, save_artifact
from streams.explain.explainers import make_explainer
from streams.explain.models import ExplainedModel
from streams.explain.records import explain_events
from streams.sampling import Sampler, Tier


def timed(fn, repeat: int = 3) -> float:
    """The best of ``repeat`` wall times of ``fn()`` (the machine is shared)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def simulated_events(rows: int) -> list[dict]:
    return EventGenerator(3).generate(1_767_225_600 + np.arange(rows) * 0.01).to_events()


def artifacts(tmp: str) -> dict[str, str]:
    """Path -> artifact file: the simulator's tree, and a linear and a k-NN model on its rows."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier

    tree = load_artifact(save_tree_artifact(f"{tmp}/tree.joblib"))
    x, y = tree.background, tree.model.predict(tree.background)
    out = {"tree": f"{tmp}/tree.joblib"}
    fill = {f: v for f, v in zip(MODEL_COLUMNS, tree.fill.tolist(), strict=True) if v == v}
    for name, model in (
        ("linear", LogisticRegression(max_iter=2000).fit(x, y)),
        ("kernel", KNeighborsClassifier().fit(x, y)),
    ):
        out[name] = str(
            save_artifact(
                f"{tmp}/{name}.joblib",
                model,
                MODEL_COLUMNS,
                x,
                fill=fill,
                categories=tree.categories,
            )
        )
    return out


def explainer_rate(model: ExplainedModel, rows: np.ndarray, batch: int) -> float:
    """Rows per second of the explainer alone, ``batch`` rows per call."""
    calls = [rows[i : i + batch] for i in range(0, len(rows), batch)]
    return len(rows) / timed(lambda: [model.explainer.explain(c) for c in calls], repeat=2)


def rate(model: ExplainedModel, events: list, batch: int) -> float:
    """Events per second through explain_events: encoding, SHAP, records as JSON."""
    model = ExplainedModel(model.model_id, model.artifact, model.explainer, model.sampler, batch)
    return len(events) / timed(lambda: explain_events(model, events), repeat=2)


def main() -> None:
    import tempfile
    import warnings

    warnings.filterwarnings("ignore", module="sklearn")  # the linear fit's convergence

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2000, help="rows explained per path")
    parser.add_argument("--rate", type=float, default=10_000, help="predictions per second")
    parser.add_argument("--tier", type=float, default=0.01, help="explanation tier")
    parser.add_argument("--batch", type=int, default=256, help="rows per explainer call")
    args = parser.parse_args()
    needed = args.rate * args.tier
    raw = simulated_events(args.rows)
    sampler = Sampler({Tier.explanation: args.tier})
    envelopes = [encode_batch("predictions", raw[i : i + 500]) for i in range(0, len(raw), 500)]
    decode_s = timed(
        lambda: [
            [
                sampler.keeps(Tier.explanation, e.prediction_id)
                for e in decode_message(m, "predictions", 65536).events
            ]
            for m in envelopes
        ]
    )
    print(
        f"decode + tier decision: {len(raw) / decode_s:10,.0f} predictions/s "
        f"({len(raw) / decode_s / args.rate:.1f}x the {args.rate:,.0f}/s to read)"
    )
    events = [decode_message(m, "predictions", 65536).events for m in envelopes]
    events = [e for chunk in events for e in chunk]
    print(f"needed: {needed:,.0f} explanations/s ({args.tier:.2%} of {args.rate:,.0f}/s)")
    with tempfile.TemporaryDirectory() as tmp:
        for path, file in artifacts(tmp).items():
            artifact = load_artifact(file)
            model = ExplainedModel("m", artifact, make_explainer(artifact), sampler, args.batch)
            rows = events if path != "kernel" else events[:40]
            matrix, _ = artifact.encode_many([e.features for e in rows])
            quarter = len(rows) // 4
            alone = explainer_rate(model, matrix, args.batch)
            alone_single = explainer_rate(model, matrix[:quarter], 1)
            batched, single = rate(model, rows, args.batch), rate(model, rows[:quarter], 1)
            print(
                f"{path:6} explainer {alone:10,.0f}/s vs {alone_single:7,.0f}/s per row "
                f"({alone / alone_single:6.1f}x) | service {batched:7,.0f}/s vs {single:6,.0f}/s "
                f"per row ({batched / single:4.1f}x) | keeps up: {batched >= needed} "
                f"({batched / needed:.1f}x the need)"
            )


if __name__ == "__main__":
    main()
