"""What a simulation run produced: counts, and the event times the pipeline's own
counts are checked against."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from streams.devtools.simulator.events import format_timestamps


@dataclass
class SimulationReport:
    """What a run produced, for summaries and for tests that check the pipeline."""

    scenario: str
    start_ms: int
    duration_s: float
    predictions: int = 0
    labels: int = 0
    labels_dropped: int = 0
    """Labels still pending when the run was interrupted (never produced)."""
    delivery_errors: int = 0
    interrupted: bool = False
    wall_s: float = 0.0
    timestamps_ms: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    @property
    def timestamps(self) -> np.ndarray:
        """Event times of the produced predictions, float epoch seconds."""
        return self.timestamps_ms / 1000.0

    def counts_by_window(self, window_s: float) -> dict[int, int]:
        """Predictions per tumbling event-time window: window start (epoch s) -> count.

        Computed on the same millisecond timestamps the events carry, so a
        window-aligned consumer must find exactly these counts.
        """
        window_ms = round(window_s * 1000)
        if window_ms <= 0 or window_ms % 1000:
            raise ValueError(f"window_s must be a positive whole number of seconds, got {window_s}")
        starts, counts = np.unique(self.timestamps_ms // window_ms, return_counts=True)
        return {int(s) * (window_ms // 1000): int(c) for s, c in zip(starts, counts, strict=True)}

    def summary(self) -> str:
        """One line for the end of a CLI run."""
        if self.timestamps_ms.size:
            first, last = self.timestamps_ms[0], self.timestamps_ms[-1]
            span = f"event time {_iso(first)} .. {_iso(last)} ({_span(float(last - first) / 1000)})"
        else:
            span = "no events"
        state = " (interrupted)" if self.interrupted else ""
        return (
            f"simulate {self.scenario}{state}: {self.predictions:,} predictions, "
            f"{self.labels:,} labels, {span}, wall {self.wall_s:.1f} s"
        )


def _iso(ms: int) -> str:
    return format_timestamps(np.array([ms], dtype=np.int64))[0][:19] + "Z"


def _span(seconds: float) -> str:
    seconds = round(seconds)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}h{minutes:02d}m{secs:02d}s"
    return f"{days}d{text}" if days else text
