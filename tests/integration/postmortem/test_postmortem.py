"""``streams postmortem`` on a real deployment: the silent-zeros scenario played through
a worker, then the report read back from its results and alerts topics."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from tests.integration.conftest import Deployment

from streams.cli.postmortem import main
from streams.devtools.simulator.model import DEFAULT_MODEL_ID
from streams.postmortem.formats import format_duration, iso

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 1, tzinfo=UTC)
T0 = int(START.timestamp())
AFFECTED = ["user_clicks_7d", "user_sessions_30d", "user_dwell_time_avg_s"]
ONSET_S, RECOVER_S = 900, 1800


def play_silent_zeros(d: Deployment) -> None:
    """As test_pipeline's silent-zeros test: 40 one-minute windows of 1,000 events,
    three user features served as zeros from 15 to 30 minutes; returns once every
    window has a result (alerts are delivered before their window's result)."""
    d.start_worker()
    report = d.simulate(
        rate=1000 / 60,
        duration_s=40 * 60,
        seed=7,
        speedup=0,
        start=START,
        scenario="silent-zeros",
        affect=AFFECTED,
        onset_s=ONSET_S,
        recover_s=RECOVER_S,
    )
    d.results(set(report.counts_by_window(60)))


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[str, int] = {}
        self.classes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.counts[tag] = self.counts.get(tag, 0) + 1
        self.classes += (dict(attrs).get("class") or "").split()


def test_postmortem_of_silent_zeros_names_the_features_one_firing_and_its_resolve(
    deploy, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = deploy()
    play_silent_zeros(d)
    range_ = ["--from", "2026-01-01T00:00:00Z", "--to", str(T0 + 40 * 60)]

    # Markdown, with the addresses given one by one
    md_path = tmp_path / "incident.md"
    code = main(
        [
            "--model",
            DEFAULT_MODEL_ID,
            *range_,
            "--bootstrap",
            d.bootstrap,
            "--results-topic",
            d.topic("results"),
            "--alerts-topic",
            d.topic("alerts"),
            "--output",
            str(md_path),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith(f"{md_path}: {DEFAULT_MODEL_ID}, 40 windows, ")
    md = md_path.read_text()
    assert md.startswith(
        f"# Postmortem: {DEFAULT_MODEL_ID}, 2026-01-01T00:00:00Z → 2026-01-01T00:40:00Z\n"
    )
    assert "- **Time range (UTC):** 2026-01-01T00:00:00Z → 2026-01-01T00:40:00Z" in md
    # the zeroed features page once, as one data-quality incident, then resolve; other
    # categories (a score shift while the features recover) may add rows of their own
    section = md.split("## Timeline", 1)[1].split("\n## ", 1)[0]
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| 2026-")]
    quality = [row for row in rows if row[1] == "data_quality"]
    # its page, updates of it (corroboration: the same incident, no new page), one resolve
    statuses = [row[3] for row in quality]
    assert statuses[0] == "**firing**" and statuses[-1] == "**resolved**", statuses
    assert set(statuses[1:-1]) <= {"**update**"}, statuses
    times = [row[0] for row in rows]
    assert times == sorted(times)  # the timeline in time order
    quality = [quality[0], quality[-1]]
    assert all(row[4] == ", ".join(sorted(AFFECTED)) for row in quality)
    fired = datetime.fromisoformat(quality[0][0].removeprefix("| ")).timestamp()
    assert T0 + ONSET_S < fired <= T0 + ONSET_S + 2 * 60
    resolved = T0 + RECOVER_S + 3 * 60  # after three clear windows, at the end of the third
    assert quality[1][0] == f"| {iso(resolved)}"
    firing = sum(row[3] == "**firing**" for row in rows)
    updates = sum(row[3] == "**update**" for row in rows)
    n_resolved = sum(row[3] == "**resolved**" for row in rows)
    shown = f"{updates} update{'' if updates == 1 else 's'}, " if updates else ""
    assert f"- **Alerts:** {firing} fired, {shown}{n_resolved} resolved (" in md
    assert f"- **First firing:** {iso(fired)} (data_quality: " in md
    assert f"- **Last resolve:** {iso(resolved)}" in md
    incident = f"| {DEFAULT_MODEL_ID}:data_quality | "
    (line,) = [x for x in md.splitlines() if x.startswith(incident)]
    assert line.endswith(
        f" | {iso(fired)} | {iso(resolved)} | {format_duration(resolved - fired)} |"
    )
    signals = md.split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    for feature in AFFECTED:
        (line,) = [x for x in signals if x.startswith(f"{feature} zero_rate ")]
        assert "█" in line  # zeroed: the rate at the top of its range
        assert signals[signals.index(line) + 1].startswith("  firing")

    # HTML, with the addresses from the deployment's config
    html_path = tmp_path / "incident.html"
    config = ["--config", str(d.config_path)]
    code = main(["--model", DEFAULT_MODEL_ID, *range_, *config, "--output", str(html_path)])
    assert code == 0, capsys.readouterr().err
    page = html_path.read_text()
    tags = _Tags()
    tags.feed(page)
    # a chart per zero rate, then the share of drifted features, the score and the events
    assert tags.classes.count("plotly-graph-div") == tags.counts["figure"] >= len(AFFECTED) + 3
    for feature in AFFECTED:
        assert f"<b>{feature}: zero_rate</b>" in page
    assert "2026-01-01T00:00:00Z → 2026-01-01T00:40:00Z" in page

    # a model with no record: one line naming the topics read and the models seen
    capsys.readouterr()
    code = main(["--model", "ghost", *range_, *config])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "no result or alert of model 'ghost'" in err
    assert d.topic("results") in err and d.topic("alerts") in err
    assert f"models seen there since 2025-12-31T22:00:00Z: {DEFAULT_MODEL_ID}" in err

    code = main(["--model", DEFAULT_MODEL_ID, *range_, *config, "--alerts-topic", "no-such"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err == (
        f"streams postmortem: error: topic 'no-such' does not exist at {d.bootstrap} "
        "(named by --alerts-topic)\n"
    )
    # the deployment's topics are not the default names: the error points to --config
    code = main(["--model", DEFAULT_MODEL_ID, *range_, "--bootstrap", d.bootstrap])
    out, err = capsys.readouterr()
    assert (code, out, err.count("\n")) == (2, "", 1)
    assert f"topic 'results' does not exist at {d.bootstrap}" in err
    assert "topic names are in its monitor config, give it with --config" in err
