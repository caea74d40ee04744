"""One incident per root cause, through ``evaluate_window`` on hand-built windows.

Oracles: the root-cause rule of streams/alerting/rootcause.py (a data-quality finding
on features F absorbs drift on F, the score movement and the performance drop while
it fires; drift elsewhere is its own incident), the lifecycle's resolve rule, and the
configured escalation severity."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydantic import SecretStr

from streams.alerting.evaluate import evaluate_window
from streams.alerting.lifecycle import Incident, Signal
from streams.alerting.rootcause import corroborate, label, split
from streams.config import models as cfg
from streams.events.models import AlertCategory, AlertEvent, PredictionEvent, Severity
from streams.router.pagerduty import event_body
from streams.router.rules import Route
from streams.windows.reference_choice import ReferenceChooser
from streams.windows.reference_profile import build_profile
from streams.windows.stage1 import ModelSpec
from streams.windows.stage2 import ModelState, take_ready

WINDOW_S = 60
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
EVENTS = 400
NOW = 1_767_300_000.0
BROKEN = ("a", "b")  # the features one upstream feeds
ALL = ("a", "b", "g")


def make_spec(resolve_after: int = 2) -> ModelSpec:
    rng = np.random.default_rng(0)
    config = cfg.ModelConfig(
        id="m",
        features=dict.fromkeys(ALL, "numeric"),
        reference=Path("unused.json"),
        window_s=WINDOW_S,
        alerting=cfg.AlertingConfig(fire_after_windows=1, resolve_after_windows=resolve_after),
        drift={"online": cfg.OnlineConfig(enabled=False)},
    )
    sample = {f: rng.normal(size=5000).tolist() for f in ALL}
    return ModelSpec(config, build_profile(sample, config.features))


def events(start: int, zeros: bool, score_shift: float, g_shift: float) -> list[PredictionEvent]:
    """A window of events: ``zeros`` serves 0 for the broken upstream's features, the
    scores move by ``score_shift`` (baseline sd 0.05), ``g`` by ``g_shift`` sd."""
    rng = np.random.default_rng(start)
    out = []
    for i in range(EVENTS):
        x = {f: float(rng.normal()) for f in ALL}
        x["g"] += g_shift
        if zeros:
            x.update(dict.fromkeys(BROKEN, 0.0))
        out.append(
            PredictionEvent(
                model_id="m",
                model_version="1",
                prediction_id=f"p{start}-{i}",
                timestamp=datetime.fromtimestamp(start + i * WINDOW_S / EVENTS, UTC),
                features=x,
                prediction={"score": float(0.5 + 0.05 * rng.normal() + score_shift)},
                latency_ms=10.0,
            )
        )
    return out


def play(spec: ModelSpec, windows: list[dict[str, float | bool]]) -> list[list[AlertEvent]]:
    """Evaluate one window per entry (``events`` arguments); the alerts of each."""
    state = ModelState("m")
    state.num_partitions = 1
    config = spec.config
    chooser = ReferenceChooser(
        config.id, spec.reference.features, config.drift.reference, WINDOW_S, {}.get
    )
    out = []
    for i, kind in enumerate(windows):
        start = T0 + i * WINDOW_S
        agg = spec.new_window(start)
        agg.fold(events(start, **{"zeros": False, "score_shift": 0.0, "g_shift": 0.0, **kind}))
        state.open[start] = agg
        state.watermarks[0] = start + WINDOW_S
        (ready,) = take_ready(state, WINDOW_S)
        out.append(evaluate_window(spec, state, ready, chooser, NOW).alerts)
    return out


HEALTHY: dict[str, float | bool] = {}
ZEROS: dict[str, float | bool] = {"zeros": True}
ZEROS_AND_SCORES: dict[str, float | bool] = {"zeros": True, "score_shift": 0.1}


def pages(alerts: list[AlertEvent]) -> list[AlertEvent]:
    return [a for a in alerts if a.status == "firing" and not a.update]


def test_zeros_drift_and_score_shift_page_once_then_update_then_resolve_once() -> None:
    spec = make_spec(resolve_after=2)
    by_window = play(
        spec, [HEALTHY] * 3 + [ZEROS, ZEROS_AND_SCORES, ZEROS_AND_SCORES] + [HEALTHY] * 3
    )
    alerts = [a for window in by_window for a in window]
    # one page: the zeroed features, the drift their zeros cause folded into it
    (page,) = pages(alerts)
    assert page in by_window[3]
    assert page.subjects == sorted(BROKEN)
    assert page.root_cause == "data_quality on a, b"
    assert {c.split()[1] for c in page.corroborating if c.startswith("data_drift")} <= set(BROKEN)
    # the score movement comes as an update of that incident, at the escalated severity
    updates = [a for a in alerts if a.update]
    assert [a for window in by_window[4:5] for a in window] == updates[:1]
    assert "prediction_drift prediction_score (score_wasserstein)" in updates[0].corroborating
    assert "corroborated by" in updates[0].summary and " update " in updates[0].summary
    assert updates[0].severity == Severity(cfg.CorrelationConfig().escalate_to)
    assert all(u.status == "firing" and u.subjects == page.subjects for u in updates)
    # one incident throughout, resolved once, two decided clear windows after the zeros
    assert {a.dedup_key for a in alerts} == {page.dedup_key}
    assert [i for i, w in enumerate(by_window) for a in w if a.status == "resolved"] == [7]


def test_drift_of_a_feature_without_a_quality_finding_is_its_own_incident() -> None:
    spec = make_spec()
    by_window = play(spec, [HEALTHY] * 3 + [{"zeros": True, "g_shift": 2.0}] * 2)
    alerts = [a for window in by_window for a in window]
    assert sorted((a.category, a.subjects) for a in pages(alerts)) == [
        (AlertCategory.data_drift, ["g"]),
        (AlertCategory.data_quality, sorted(BROKEN)),
    ]
    quality = next(a for a in alerts if a.category == AlertCategory.data_quality)
    assert not any("data_drift g" in c for c in quality.corroborating)


def test_without_root_cause_the_findings_step_on_their_own() -> None:
    drift = Signal(AlertCategory.data_drift, "a", Severity.warning, "adwin(delta=0.002)", 1, 0)
    zeros = Signal(AlertCategory.data_quality, "a", Severity.error, "zero_rate_delta", 1, 0.1)
    on, off = cfg.RootCauseConfig(), cfg.RootCauseConfig(enabled=False)
    assert split([zeros, drift], None, on).absorbed == [drift]
    assert split([zeros, drift], None, off).own == [zeros, drift]
    only_scores = cfg.RootCauseConfig(absorb=["prediction_drift"])
    assert split([zeros, drift], None, only_scores).own == [zeros, drift]
    assert label(drift) == "data_drift a (adwin)"


def test_a_performance_drop_while_the_quality_incident_fires_is_an_update() -> None:
    root = Incident(AlertCategory.data_quality, firing=True, announced=["a"])
    drop = Signal(AlertCategory.performance, "all", Severity.critical, "accuracy", 0.6, 0.8)
    parts = split([drop], root, cfg.RootCauseConfig())
    assert parts.own == []
    (update,) = corroborate(root, [], parts)
    assert (update.category, update.update, update.subjects) == (
        AlertCategory.data_quality,
        True,
        ["a"],
    )
    assert update.severity == Severity.critical and root.severity == Severity.critical
    assert corroborate(root, [], parts) == []  # known already: no second update
    # with no quality incident firing, the drop is its own incident
    assert split([drop], None, cfg.RootCauseConfig()).own == [drop]


def test_an_update_reaches_pagerduty_as_a_trigger_of_the_same_incident() -> None:
    spec = make_spec()
    by_window = play(spec, [HEALTHY] * 3 + [ZEROS, ZEROS_AND_SCORES])
    (page,), (update,) = by_window[3], by_window[4]
    route = Route(team="ml", routing_key_env="PAGERDUTY_PAGE_KEY")
    first, second = (event_body(a, route, SecretStr("k" * 32)) for a in (page, update))
    # Events API v2: a trigger with an open incident's dedup_key updates that incident
    assert (first["event_action"], second["event_action"]) == ("trigger", "trigger")
    assert first["dedup_key"] == second["dedup_key"] == page.dedup_key
    details = second["payload"]["custom_details"]
    assert details["update"] is True and details["corroborating"] == update.corroborating
    assert "update" not in first["payload"]["custom_details"]


def test_drift_on_a_resolved_incident_s_features_is_their_recovery_not_a_page() -> None:
    root = Incident(AlertCategory.data_quality, resolved_at=0.0, recovering=["a"])
    back = Signal(AlertCategory.data_drift, "a", Severity.warning, "page_hinkley(...)", 1, 20)
    other = Signal(AlertCategory.data_drift, "g", Severity.warning, "page_hinkley(...)", 1, 20)
    scores = Signal(
        AlertCategory.prediction_drift, "prediction_score", Severity.warning, "ph", 6, 5
    )
    drop = Signal(AlertCategory.performance, "all", Severity.critical, "accuracy", 0.6, 0.8)
    parts = split([back, other, scores, drop], root, cfg.RootCauseConfig())
    # the scores coming back with the features is the recovery too; a drop is not
    assert (parts.absorbed, parts.own) == ([back, scores], [other, drop])
    assert corroborate(root, [], parts) == []  # recorded, never paged


def test_the_terminal_line_says_page_update_and_resolve_apart() -> None:
    from streams.worker.run import alert_line

    spec = make_spec()
    by_window = play(spec, [HEALTHY] * 3 + [ZEROS, ZEROS_AND_SCORES])
    (page,), (update,) = by_window[3], by_window[4]
    resolved = page.model_copy(update={"status": "resolved"})
    assert [alert_line(a).split()[0] for a in (page, update, resolved)] == [
        "ALERT",
        "UPDATE",
        "RESOLVED",
    ]
