"""``streams postmortem`` without a broker: the report from lists of records, both
renderings, and the command's one-line errors."""

from __future__ import annotations

import re
import socket
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.alerting.lifecycle import Signal, Transition
from streams.alerting.signals import transition_alert
from streams.cli import postmortem as cli
from streams.events.models import AlertCategory, Severity
from streams.postmortem.formats import format_duration, iso, parse_time
from streams.postmortem.render import render_html, render_markdown
from streams.postmortem.report import build_report
from streams.postmortem.runbooks import runbook_link
from streams.postmortem.sparklines import sparkline
from streams.postmortem.tables import key_windows
from streams.postmortem.timeline import pair_incidents, select_changes

MODEL = "recsys-ranker"
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
W = 60
FEATURES = ["user_clicks_7d", "user_sessions_30d", "user_dwell_time_avg_s", "item_price"]
ZEROED = ["user_clicks_7d", "user_dwell_time_avg_s", "user_sessions_30d"]
REF_ZERO_RATE = 0.02
#: The repository's checkout, found from this file (tests/unit/postmortem/).
CHECKOUT = Path(__file__).resolve().parents[3]


def result(i: int, *, zeroed: bool = False, revision: int = 0, count: int = 1000) -> dict:
    """A ``results`` record of window i, shaped as evaluate.result_record writes it."""
    start = T0 + i * W
    features, drift, breaches = {}, {}, []
    for name in FEATURES:
        hit = zeroed and name in ZEROED
        zero_rate = 1.0 if hit else REF_ZERO_RATE
        features[name] = {
            "psi": 5.0 if hit else 0.01,
            "wasserstein": 0.9 if hit else 0.03,
            "ks": 0.9 if hit else 0.02,
            "ks_p_value": 0.0 if hit else 0.6,
            "zero_rate": zero_rate,
            "missing_rate": 0.0,
            "mean": 0.0 if hit else 3.0,
        }
        drift[name] = {
            "method": "wasserstein",
            "value": 0.9 if hit else 0.03,
            "threshold": 0.1,
            "drifted": hit,
        }
        if hit:
            breaches.append(
                {
                    "feature": name,
                    "category": "data_quality",
                    "statistic": "zero_rate_delta",
                    "value": zero_rate - REF_ZERO_RATE,
                    "threshold": 0.1,
                }
            )
            breaches.append(
                {
                    "feature": name,
                    "category": "data_drift",
                    "statistic": "wasserstein",
                    "value": 0.9,
                    "threshold": 0.1,
                }
            )
    return {
        "model_id": MODEL,
        "window_start": start,
        "window_end": start + W,
        "revision": revision,
        "count": count,
        "late": 0,
        "evaluated_at": start + W + 1.5,
        "latency": {},
        "score_mean": 0.2 if zeroed else 0.31,
        "features": features,
        "drift": drift,
        "dataset": {"drifted": False, "share_drifted": 0.75 if zeroed else 0.0},
        "multivariate": {},
        "breaches": breaches,
        "reference": "static",
    }


def alert(
    status: str,
    i: int,
    subjects: list[str] = ZEROED,
    category: AlertCategory = AlertCategory.data_quality,
    model: str = MODEL,
    *,
    update: bool = False,
    windows: int = 1,
) -> dict:
    """An ``alerts`` record of the window of ``windows`` minutes from minute i, made as
    the worker makes it."""
    signals = (
        [Signal(category, s, Severity.error, "zero_rate_delta", 0.98, 0.1) for s in subjects]
        if status == "firing"
        else []
    )
    t = Transition(
        category,
        status,  # type: ignore[arg-type]
        Severity.error,
        sorted(subjects),
        signals,
        T0 + 15 * W,
        update=update,
    )
    event = transition_alert(model, t, T0 + i * W, T0 + (i + windows) * W)
    return orjson.loads(event.to_json())


def scenario() -> tuple[list[dict], list[dict]]:
    """40 windows; features zeroed in windows 15-29; fires at 16, resolves at 32."""
    results = [result(i, zeroed=15 <= i < 30) for i in range(40)]
    alerts = [alert("firing", 16), alert("resolved", 32)]
    return results, alerts


def report_of(results: list[dict], alerts: list[dict], **kwargs: Any):
    kwargs.setdefault("margin", 0.0)
    return build_report(MODEL, T0, T0 + 40 * W, results, alerts, **kwargs)


# -- times ----------------------------------------------------------------------------


def test_times_parse_from_iso_and_epoch_seconds() -> None:
    assert parse_time("2026-01-01T00:10:00Z") == T0 + 600
    assert parse_time("2026-01-01T00:10:00") == T0 + 600  # no offset: UTC
    assert parse_time("2026-01-01T01:10:00+01:00") == T0 + 600
    assert parse_time(str(T0 + 600)) == parse_time(f"{T0 + 600}.0") == T0 + 600
    assert iso(T0 + 600) == "2026-01-01T00:10:00Z"
    for bad in ("yesterday", "2026-13-01T00:00:00Z", "nan", ""):
        with pytest.raises(ValueError, match="ISO 8601"):
            parse_time(bad)


def test_durations_read_as_people_write_them() -> None:
    assert [format_duration(s) for s in (0, 59, 60, 1020, 3600, 3900, 90_000)] == [
        "0s",
        "59s",
        "1m 00s",
        "17m 00s",
        "1h 00m",
        "1h 05m",
        "1d 01h",
    ]


# -- selection ------------------------------------------------------------------------


def test_latest_revision_of_a_window_wins_whatever_the_order() -> None:
    results, alerts = scenario()
    revised = {**result(5, count=1200), "revision": 2}
    middle = {**result(5, count=1100), "revision": 1}
    report = report_of([revised, *results, middle], alerts)
    assert len(report.windows) == 40
    window = next(w for w in report.windows if w["window_start"] == T0 + 5 * W)
    assert (window["revision"], window["count"]) == (2, 1200)
    events = next(c for c in report.charts if c.label == "events")
    assert events.values[5] == 1200


def test_records_of_other_models_and_outside_the_range_are_left_out() -> None:
    results, alerts = scenario()
    other = [{**r, "model_id": "fraud"} for r in results]
    before = {**result(-200), "window_start": T0 - 3 * 3600, "window_end": T0 - 3 * 3600 + W}
    report = build_report(
        MODEL,
        T0 + 10 * W,
        T0 + 20 * W,
        [*results, *other, before],
        [*alerts, alert("firing", 16, model="fraud")],
        margin=5 * W,
    )
    # windows overlapping [5 min, 25 min): starts 5..24
    assert [w["window_start"] for w in report.windows] == [T0 + i * W for i in range(5, 25)]
    assert [c.status for c in report.changes] == ["firing"]  # resolved at 33 min: outside


def test_timeline_is_in_time_order_then_status_and_counts_a_redelivery_once() -> None:
    drift = AlertCategory.data_drift
    alerts = [
        alert("resolved", 32),
        alert("firing", 25, ["item_price"], drift, windows=5),  # [25, 30): at 30
        alert("firing", 16),
        alert("resolved", 28, ["item_price"], drift, windows=2),  # [28, 30): at 30 too
        alert("firing", 16),  # delivered twice
        alert("firing", 27, ["user_clicks_7d"], AlertCategory.performance),  # at 28
        alert("resolved", 40, ["item_price"], drift),  # window 40 ends past the range
    ]
    changes = select_changes(alerts, MODEL, T0, T0 + 40 * W)
    # by when each changed (its window's end), not by where its window starts
    assert [(c.time, c.status, c.category) for c in changes] == [
        (T0 + 17 * W, "firing", "data_quality"),
        (T0 + 28 * W, "firing", "performance"),
        (T0 + 30 * W, "firing", "data_drift"),
        (T0 + 30 * W, "resolved", "data_drift"),
        (T0 + 33 * W, "resolved", "data_quality"),
    ]


def test_updates_are_their_own_rows_and_no_new_page() -> None:
    results, _ = scenario()
    alerts = [
        alert("firing", 16),
        alert("firing", 18, update=True),  # corroboration joined: the same dedup key
        alert("firing", 20, update=True),
        alert("resolved", 32),
    ]
    report = report_of(results, alerts)
    assert [c.kind for c in report.changes] == ["firing", "update", "update", "resolved"]
    assert (report.fired, report.updates, report.resolved) == (1, 2, 1)
    assert report.incidents[0].updates == 2
    md = render_markdown(report)
    assert "- **Alerts:** 1 fired, 2 updates, 1 resolved (1 incident)" in md
    statuses = [line.split(" | ")[3] for line in md.splitlines() if line.startswith("| 2026-")]
    assert statuses[:4] == ["**firing**", "**update**", "**update**", "**resolved**"]
    # an update whose page came before the range: no first firing in it
    late = report_of(results, [alert("firing", 20, update=True), alert("resolved", 32)])
    assert (late.fired, late.first_firing, late.incidents[0].fired) == (0, None, None)


def test_incidents_pair_firing_with_resolved_and_grow_with_updates() -> None:
    drift = AlertCategory.data_drift
    alerts = [
        alert("firing", 10, ["item_price"], drift),
        alert("firing", 12, ["item_price", "user_clicks_7d"], drift),  # a subject joined
        alert("resolved", 20, ["item_price", "user_clicks_7d"], drift),
        alert("resolved", 3),  # fired before the range
        alert("firing", 30),  # still firing
    ]
    incidents = pair_incidents(select_changes(alerts, MODEL, T0, T0 + 3600))
    assert [(i.dedup_key, i.start, i.end, i.updates) for i in incidents] == [
        (f"{MODEL}:data_quality", None, T0 + 4 * W, 0),
        (f"{MODEL}:data_drift", T0 + 11 * W, T0 + 21 * W, 1),
        (f"{MODEL}:data_quality", T0 + 31 * W, None, 0),
    ]
    assert incidents[1].subjects == ["item_price", "user_clicks_7d"]


# -- header ---------------------------------------------------------------------------


def test_header_counts_and_time_to_resolve() -> None:
    report = report_of(*scenario())
    assert (report.fired, report.resolved, len(report.incidents)) == (1, 1, 1)
    # fired at the end of window 16, resolved at the end of window 32: 16 windows
    assert report.first_firing == T0 + 17 * W
    assert report.last_resolve == T0 + 33 * W
    assert report.time_to_resolve == 16 * 60
    assert report.incidents[0].duration == 16 * 60


def test_time_to_resolve_spans_first_firing_to_last_resolve() -> None:
    results, _ = scenario()
    drift = AlertCategory.data_drift
    alerts = [
        alert("firing", 16),
        alert("firing", 20, ["item_price"], drift),
        alert("resolved", 25, ["item_price"], drift),
        alert("resolved", 32),
    ]
    report = report_of(results, alerts)
    assert (report.fired, report.resolved) == (2, 2)
    assert report.time_to_resolve == (33 - 17) * 60
    assert report.incidents[1].duration == (26 - 21) * 60


def test_no_time_to_resolve_while_an_alert_still_fires() -> None:
    results, _ = scenario()
    report = report_of(results, [alert("firing", 16)])
    assert report.time_to_resolve is None and report.last_resolve is None
    md = render_markdown(report)
    assert "not resolved: still firing" in md


def test_no_time_to_resolve_when_an_alert_fired_before_the_range() -> None:
    results, _ = scenario()
    drift = AlertCategory.data_drift
    alerts = [alert("resolved", 3), alert("firing", 10, ["item_price"], drift)]
    alerts.append(alert("resolved", 20, ["item_price"], drift))
    report = report_of(results, alerts)
    assert report.first_firing == T0 + 11 * W and report.last_resolve == T0 + 21 * W
    assert report.time_to_resolve is None
    assert "- **Time to resolve:** unknown: an alert resolved in the range fired before it" in (
        render_markdown(report)
    )


# -- charts ---------------------------------------------------------------------------


def test_charts_follow_the_alerted_features_and_their_deciding_statistic() -> None:
    results, alerts = scenario()
    alerts.append(alert("firing", 20, ["item_price"], AlertCategory.data_drift))
    report = report_of(results, alerts, dataset_share=0.5)
    assert [c.title for c in report.charts] == [
        *(f"{f}: zero_rate" for f in sorted(ZEROED)),
        "item_price: drift, wasserstein",
        "Dataset: share of features drifted",
        "Mean prediction score",
        "Events per window",
    ]
    zero = report.charts[0]
    assert zero.values[14] == REF_ZERO_RATE and zero.values[15] == 1.0
    # the limit: the reference's zero rate plus the allowed increase
    assert zero.threshold is not None
    assert zero.threshold == pytest.approx([REF_ZERO_RATE + 0.1] * 40)
    assert [(s.start, s.end) for s in zero.shades] == [(T0 + 17 * W, T0 + 33 * W)]
    price = report.charts[3]
    assert set(price.threshold or ()) == {0.1}
    assert [(s.start, s.end) for s in price.shades] == [(T0 + 21 * W, None)]
    assert set(report.charts[4].threshold or ()) == {0.5}
    assert zero.times == tuple(T0 + (i + 1) * W for i in range(40))


def test_p_value_methods_are_drawn_as_minus_log10_p() -> None:
    results = [result(i) for i in range(5)]
    for r, p in zip(results, (0.5, 0.1, 0.001, 0.0, None), strict=True):
        r["drift"]["item_price"] = {"method": "ks", "value": p, "threshold": 0.01}
    alerts = [alert("firing", 2, ["item_price"], AlertCategory.data_drift)]
    report = build_report(MODEL, T0, T0 + 5 * W, results, alerts)
    chart = report.charts[0]
    assert chart.title == "item_price: drift, -log10 p (ks)"
    assert chart.values == pytest.approx((0.30103, 1.0, 3.0, 16.0, None))  # type: ignore[arg-type]
    assert chart.threshold == pytest.approx([2.0] * 5)


def test_sparklines_scale_and_mark_gaps() -> None:
    assert sparkline([0, 0.5, 1]) == "▁▅█"
    assert sparkline([None, None]) == "··"
    assert sparkline([3, 3, 3]) == "▁▁▁"
    assert len(sparkline(list(range(1000)), width=80)) == 80


# -- renderings -----------------------------------------------------------------------


def test_markdown_names_the_features_and_marks_the_firing_windows() -> None:
    report = report_of(*scenario())
    md = render_markdown(report, source="topics 'results' and 'alerts' at broker:9092")
    assert md.startswith(
        "# Postmortem: recsys-ranker, 2026-01-01T00:00:00Z → 2026-01-01T00:40:00Z\n"
    )
    assert "- **Alerts:** 1 fired, 1 resolved (1 incident)" in md
    assert "- **First firing:** 2026-01-01T00:17:00Z (data_quality: " in md
    assert "- **Last resolve:** 2026-01-01T00:33:00Z" in md
    assert "- **Time to resolve:** 16m 00s" in md
    assert "- **First breach:** window 2026-01-01T00:15:00Z → 00:16:00" in md
    assert "- **Windows:** 40 windows of 1m 00s" in md
    timeline = [line for line in md.splitlines() if line.startswith("| 2026-01-01T00:")]
    assert timeline[0].startswith("| 2026-01-01T00:17:00Z | data_quality | error | **firing** |")
    assert "zero_rate_delta = 0.98 (0.1)" in timeline[0]
    # the runbook of this checkout, absolute: it opens wherever the report is read
    runbook = (CHECKOUT / "deploy" / "runbooks" / "data_quality.md").as_uri()
    assert f"[data_quality.md]({runbook})" in timeline[0]
    assert "| **resolved** |" in timeline[1] and "| clear |" in timeline[1]
    block = md.split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    for feature in ZEROED:
        (line,) = [x for x in block if x.startswith(f"{feature} zero_rate ")]
        spark = line.split()[2]
        assert spark == "▁" * 15 + "█" * 15 + "▁" * 10
        marks = block[block.index(line) + 1]
        assert marks.startswith("  firing")
        # windows 16..32 (values at their ends 17..33 min) were under a firing alert
        width = line.index(spark)
        assert marks[width:] == " " * 16 + "━" * 17
    # every table row has as many cells as its header
    for table in re.findall(r"((?:^\|.*\|\n)+)", md, flags=re.M):
        rows = [r for r in table.splitlines() if not r.startswith("|---")]
        counts = {len(re.split(r"(?<!\\)\|", r)) for r in rows}
        assert len(counts) == 1, table
    key_rows = [line for line in md.split("## Key windows")[1].splitlines() if "| 2026" in line]
    whys = [line.split(" | ")[1] for line in key_rows]
    assert whys == [
        "first window",
        "first breach (data_quality)",
        "firing (data_quality)",
        "resolved (data_quality)",
        "last window",
    ]


class _Checker(HTMLParser):
    """Counts start tags and checks that every element is closed in order."""

    VOID = {"meta", "br", "hr", "img", "input", "link", "wbr"}
    SELF_CLOSING_OK = {"polyline", "path", "line", "circle", "rect"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.counts: dict[str, int] = {}
        self.errors: list[str] = []
        self.text: list[str] = []
        self.hrefs: list[str] = []
        self.classes: list[str] = []
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag == "a":
            self.hrefs.append(dict(attrs)["href"] or "")
        if tag == "script":
            self.scripts.append(dict(attrs))
        self.classes += (dict(attrs).get("class") or "").split()
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag not in self.VOID | self.SELF_CLOSING_OK:
            self.errors.append(f"<{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_is_self_contained_well_formed_and_has_a_chart_per_series() -> None:
    results, alerts = scenario()
    alerts[0]["summary"] = "<script>alert(1)</script> & more"
    alerts[0]["runbook_url"] = "javascript:alert(1)"
    report = report_of(results, alerts)
    page = render_html(report, source="topics at broker:9092", runbook_base="https://x.test/")
    checker = _Checker()
    checker.feed(page)
    checker.close()
    assert page.startswith("<!DOCTYPE html>")
    assert checker.errors == [] and checker.stack == []
    charts = len(ZEROED) + 3
    assert len(report.charts) == charts
    assert checker.classes.count("plotly-graph-div") == checker.counts["figure"] == charts
    # every script inline (the bundle, then one call per chart): nothing to fetch
    assert len(checker.scripts) == 1 + charts and all("src" not in a for a in checker.scripts)
    assert not {"link", "img", "iframe", "object"} & set(checker.counts)
    markup = re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.S)
    assert not re.search(r"\bsrc=|url\(|@import", markup)
    assert "<script>alert(1)" not in page
    # the javascript: runbook is not linked; the resolved one joins the base
    assert checker.hrefs == ["https://x.test/deploy/runbooks/data_quality.md"]
    text = "".join(checker.text)
    for feature in ZEROED:
        assert f"{feature}: zero_rate" in text
    assert "1 fired, 1 resolved (1 incident)" in text
    assert "16m 00s" in text
    assert checker.counts["table"] == 4  # header, timeline, incidents, key windows


def test_runbook_links_are_absolute_and_only_to_what_exists() -> None:
    path = "deploy/runbooks/data_quality.md"
    assert runbook_link(path, roots=[CHECKOUT]) == (CHECKOUT / path).as_uri()
    assert runbook_link(path, "https://x.test/repo/") == f"https://x.test/repo/{path}"
    assert runbook_link("https://wiki.test/gpu") == "https://wiki.test/gpu"
    assert runbook_link(path, roots=[CHECKOUT / "tests"]) is None  # not there
    assert runbook_link("../../etc/passwd", roots=[CHECKOUT]) is None
    for bad in ("javascript:alert(1)", "data:text/html,x"):
        assert runbook_link(bad) is None


def test_charts_are_shaded_only_by_their_own_detectors_alerts() -> None:
    results, _ = scenario()
    drift, score = AlertCategory.data_drift, AlertCategory.prediction_drift
    alerts = [
        alert("firing", 16),  # data quality on the zeroed features
        alert("firing", 18, ["user_clicks_7d"], drift),
        alert("resolved", 24, ["user_clicks_7d"], drift),
        alert("firing", 20, ["__score__"], score),
        alert("resolved", 26, ["__score__"], score),
        alert("resolved", 32),
    ]
    report = report_of(results, alerts)
    spans = {c.title: [(s.start, s.end) for s in c.shades] for c in report.charts}
    quality, drifted = (T0 + 17 * W, T0 + 33 * W), (T0 + 19 * W, T0 + 25 * W)
    assert spans["user_clicks_7d: zero_rate"] == [quality]
    assert spans["user_clicks_7d: drift, wasserstein"] == [drifted]
    assert spans["user_sessions_30d: zero_rate"] == [quality]
    assert spans["Dataset: share of features drifted"] == [drifted]
    assert spans["Mean prediction score"] == [(T0 + 21 * W, T0 + 27 * W)]
    assert spans["Events per window"] == []


def test_a_window_is_not_labelled_with_the_alert_of_a_window_of_another_size() -> None:
    results, _ = scenario()
    # a 5-minute window from minute 10 fires; the 1-minute window [10, 11) made nothing
    alerts = [alert("firing", 10, ["item_price"], AlertCategory.data_drift, windows=5)]
    report = report_of(results, alerts)
    assert [why for _, why in key_windows(report)] == [["first window"], ["last window"]]
    same = report_of(results, [alert("firing", 10, ["item_price"], AlertCategory.data_drift)])
    assert [why for _, why in key_windows(same)][1] == ["firing (data_drift)"]


def test_html_with_no_window_still_renders() -> None:
    report = build_report(MODEL, T0, T0 + 600, [], [alert("firing", 3)])
    page = render_html(report)
    checker = _Checker()
    checker.feed(page)
    assert checker.errors == [] and "svg" not in checker.counts
    assert "No evaluated window" in page


# -- the command ----------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--from", "soon", "--to", "2026-01-01T01:00:00Z"], "--from: invalid time 'soon'"),
        (
            ["--from", "2026-01-01T01:00:00Z", "--to", "2026-01-01"],
            "--to (2026-01-01T00:00:00Z) must",
        ),
        (["--from", "1767225600", "--to", "1767225600"], "must be after --from"),
        (["--from", "1767225600", "--to", "1767229200", "--margin", "2 weeks"], "--margin: "),
        (
            ["--from", "1767225600", "--to", "1767229200", "--config", "/nonexistent.yaml"],
            "cannot read",
        ),
    ],
)
def test_bad_arguments_fail_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, "--model", MODEL, *argv)
    assert code == 2 and out == ""
    assert err.startswith("streams postmortem: error: ") and message in err
    assert err.count("\n") == 1


def test_unreachable_broker_fails_with_one_line_after_the_timeout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out, err = run(
        capsys,
        "--model",
        MODEL,
        "--from",
        "2026-01-01T00:00:00Z",
        "--to",
        "2026-01-01T01:00:00Z",
        "--bootstrap",
        f"127.0.0.1:{port}",
        "--timeout",
        "1",
    )
    assert code == 2 and out == ""
    assert err.startswith(f"streams postmortem: error: cannot reach Kafka at 127.0.0.1:{port}")
    assert err.count("\n") == 1


def test_help_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "--results-topic" in out and "--margin" in out
