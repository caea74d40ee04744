"""Incidents by root cause: one broken upstream pages once.

A model's data-quality finding on features F (zeros, nulls, values out of range) is a
root-cause hypothesis: "the pipeline serves bad values for F". It explains what
follows from it, so those findings join its incident instead of paging on their own
(``alerting.correlation.root_cause.absorb``):

- ``data_drift`` on a feature of F, by any detector (the per-window tests, whose
  breach the quality breach leads, and the online detectors);
- ``prediction_drift``: the score movement (the online detectors on the score series,
  and the proxy's ``score_wasserstein`` past its corroboration threshold);
- ``performance``: a performance drop stepped while the data-quality incident fires.

F is the subjects of the window's data-quality signals and those the open incident
announced. Drift on the features of a resolved incident, until a re-fire would no
longer be a flap (``FLAP_WINDOWS``), is the detectors seeing the values come back:
absorbed too, recorded for a re-fire, never paged; so is the score series' change
back in that time (PageHinkley sees the recovery as a shift of the scores). Drift on a
feature outside F stays an incident of its own, a separate cause. A quality finding on
another feature set while the incident is open joins it as new subjects (one
data-quality incident per model, as the lifecycle groups them): the on-call is already
looking at that model's feature pipeline.

Absorbed findings are recorded on the root incident, once each, as labels
("data_drift user_clicks_7d (adwin)"): they ride on its first page, and later ones
come as an update (the same dedup_key, ``update: true``, its severity the highest
seen). The root incident resolves by the lifecycle's rule, on its own subjects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from streams.alerting.lifecycle import Incident, Signal, Transition, highest
from streams.alerting.signals import score_signal
from streams.config.models import CorrelationConfig, RootCauseConfig
from streams.events.models import AlertCategory, Severity
from streams.windows.report import FeatureResult

ROOT = AlertCategory.data_quality


@dataclass(frozen=True, slots=True)
class Split:
    """A window's signals: those that step as incidents of their own, and those the
    root cause explains."""

    own: list[Signal]
    absorbed: list[Signal]


def label(signal: Signal) -> str:
    """A corroborating finding, short enough for an alert line: category, subject and
    the detector (its parameters are in the evidence)."""
    return f"{signal.category.value} {signal.subject} ({signal.statistic.split('(')[0]})"


def hidden_findings(
    features: list[FeatureResult], proxy: Mapping[str, float], rules: CorrelationConfig
) -> list[Signal]:
    """Findings no signal carries: the drift breaches a feature's quality breach leads,
    and the score movement that corroborates a finding (``correlate`` escalates by it)."""
    out = [
        Signal(b.category, b.feature, Severity.warning, b.statistic, b.value, b.threshold)
        for f in features
        if any(b.category == ROOT for b in f.breaches)
        for b in f.breaches
        if b.category == AlertCategory.data_drift
    ]
    shift = proxy.get("score_wasserstein", 0.0)
    if shift > rules.score_wasserstein:
        out.append(score_signal(shift, rules))
    return out


def _explained(
    signal: Signal, features: set[str], recovering: set[str], rules: RootCauseConfig
) -> bool:
    if signal.category.value not in rules.absorb:
        return False
    if signal.category == AlertCategory.data_drift:
        return signal.subject in features | recovering
    if signal.category == AlertCategory.prediction_drift:  # the scores coming back too
        return bool(features or recovering)
    return bool(features)


def split(
    signals: list[Signal],
    root: Incident | None,
    rules: RootCauseConfig,
    hidden: list[Signal] | None = None,
) -> Split:
    """Separate what the root cause (this window's data-quality subjects, and the open
    incident's) explains; ``hidden`` findings count only as corroboration."""
    features = {s.subject for s in signals if s.category == ROOT}
    recovering = set(root.recovering) if root is not None else set()
    if root is not None and root.firing:
        features |= set(root.announced)
    if not (rules.enabled and (features or recovering)):
        return Split(signals, [])
    own = [s for s in signals if not _explained(s, features, recovering, rules)]
    absorbed = [s for s in signals + (hidden or []) if _explained(s, features, recovering, rules)]
    return Split(own, absorbed)


def corroborate(
    root: Incident | None, transitions: list[Transition], signals: Split
) -> list[Transition]:
    """Record the absorbed findings on the root incident: on its firing transition of
    this window, or as an update when new ones come, or its own findings' severity
    rises (corroboration escalated them), while it fires."""
    resolving = any(t.category == ROOT and t.status == "resolved" for t in transitions)
    if root is None or resolving:
        return transitions
    absorbed = signals.absorbed
    own = [s.severity for s in signals.own if s.category == ROOT]
    new = []
    for signal in absorbed:
        if label(signal) not in root.corroborating:
            root.corroborating.append(label(signal))
            new.append(signal)
    if not root.firing:
        return transitions  # pending: they ride on its first page
    before = root.severity
    root.severity = highest([before, *own, *(s.severity for s in new)])
    out = list(transitions)
    for i, t in enumerate(out):
        if t.category == ROOT and t.status == "firing":
            out[i] = replace(t, severity=root.severity, corroborating=tuple(root.corroborating))
            return out
    if new or root.severity != before:
        out.append(
            Transition(
                ROOT,
                "firing",
                root.severity,
                root.announced,
                new or [s for s in signals.own if s.category == ROOT],
                root.first_seen,
                update=True,
                corroborating=tuple(root.corroborating),
            )
        )
    return out
