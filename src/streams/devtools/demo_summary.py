"""What the demo prints at the end: one screen saying what fired, and when.

It reads the worker's own terminal lines (alert lines as ``streams.worker.run.alert_line``
writes them, status lines as ``streams.worker.status`` does), so the summary is of what
the person watching saw, timed from the start of the demo.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field

__all__ = ["AlertTally"]

#: Lines of alerts the summary lists before it only counts the rest.
MAX_LISTED = 12


def _minutes(seconds: float) -> str:
    return (
        f"{int(seconds // 60)} min {seconds % 60:02.0f} s" if seconds >= 60 else f"{seconds:.0f} s"
    )


@dataclass
class AlertTally:
    """The alert lines seen, each with the seconds since the demo started."""

    pages: list[tuple[float, str]] = field(default_factory=list)
    resolved: list[tuple[float, str]] = field(default_factory=list)
    updates: int = 0

    def record(self, line: str, at_s: float) -> None:
        """Count one worker line; anything but an alert line is ignored."""
        word = line.split(" ", 1)[0]
        if word == "ALERT":
            self.pages.append((at_s, line))
        elif word == "RESOLVED":
            self.resolved.append((at_s, line))
        elif word == "UPDATE":
            self.updates += 1

    @property
    def first_alert_s(self) -> float | None:
        """Seconds from the demo's start to the first page, None before one."""
        return self.pages[0][0] if self.pages else None

    def summary(self, width: int | None = None) -> list[str]:
        """The closing screen: counts, the first alert's time, and the alert lines."""
        width = width or shutil.get_terminal_size((120, 24)).columns
        if not self.pages and not self.resolved:
            return ["what fired: nothing (no alert line from the worker)"]
        first = self.first_alert_s
        head = (
            f"what fired: {len(self.pages)} incident(s), {self.updates} update(s), "
            f"{len(self.resolved)} resolved"
        )
        lines = [head + (f"; first alert {_minutes(first)} after start" if first else "")]
        listed = sorted(self.pages + self.resolved)
        for at_s, line in listed[:MAX_LISTED]:
            lines.append(f"  +{_minutes(at_s)}  {line}"[:width])
        if len(listed) > MAX_LISTED:
            lines.append(f"  ... and {len(listed) - MAX_LISTED} more")
        return lines
