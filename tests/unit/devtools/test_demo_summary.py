"""The demo's closing screen: what fired and when, from the lines the worker printed."""

from __future__ import annotations

from streams.devtools.demo_summary import MAX_LISTED, AlertTally


def test_nothing_fired_says_so() -> None:
    tally = AlertTally()
    tally.record("STATUS   10 events/s | lag 0 | 1 windows evaluated | 0 alerts open", 3.0)
    assert tally.summary(width=200) == ["what fired: nothing (no alert line from the worker)"]
    assert tally.first_alert_s is None


def test_pages_and_resolutions_are_listed_in_time_order_updates_counted() -> None:
    tally = AlertTally()
    tally.record("ALERT    ERROR    data_quality  m: zeros on 3 subjects", 58.2)
    tally.record("UPDATE   CRITICAL data_quality  m: update", 60.0)
    tally.record("UPDATE   CRITICAL data_quality  m: update", 61.0)
    tally.record("RESOLVED ERROR    data_quality  m: clear", 130.0)
    lines = tally.summary(width=200)
    assert lines[0] == (
        "what fired: 1 incident(s), 2 update(s), 1 resolved; first alert 58 s after start"
    )
    assert lines[1].endswith("58 s  ALERT    ERROR    data_quality  m: zeros on 3 subjects")
    assert lines[2].endswith("2 min 10 s  RESOLVED ERROR    data_quality  m: clear")
    assert len(lines) == 3


def test_the_screen_stays_one_screen() -> None:
    tally = AlertTally()
    for i in range(MAX_LISTED + 5):
        tally.record("ALERT    WARNING  data_drift    " + "x" * 300, float(i))
    lines = tally.summary(width=80)
    assert len(lines) == MAX_LISTED + 2
    assert all(len(line) <= 80 for line in lines)
    assert lines[-1] == "  ... and 5 more"
