"""What stage 2 compares a window with: the static profile, the merge of the previous
windows (rolling), or the same hour of the previous week (seasonal).

Every live sketch is on the static profile's bins, so window sketches merge into a
reference of the same shape. Seasonal slots (one per model, ISO week and hour of the
week) are kept in the stage-2 table beside the windows and read back when needed;
a window without its kind of reference yet (the first windows, the first week) is
compared with the static profile, and its result says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import orjson

from streams.config.models import ReferenceMode
from streams.sketches import FeatureSketch as Sketch
from streams.sketches.collection import sketches_from_json, sketches_to_json

HOUR, WEEK = 3600, 7 * 86400
#: 1970-01-01 was a Thursday: shifting by 3 days starts weeks on Monday 00:00 UTC.
MONDAY_OFFSET = 3 * 86400


def week_and_hour(ts: float) -> tuple[int, int]:
    """The week number (Monday 00:00 UTC based) and the hour of that week (0-167).

    >>> week_and_hour(1_767_225_600)  # Thursday 2026-01-01 00:00 UTC
    (2922, 72)
    """
    shifted = int(ts) + MONDAY_OFFSET
    return shifted // WEEK, (shifted % WEEK) // HOUR


def season_key(model_id: str, week: int, hour: int) -> str:
    return f"{model_id}\x00season\x00{week}\x00{hour}"


def merge_into(target: dict[str, Sketch], source: Mapping[str, Sketch]) -> None:
    """Add ``source``'s sketches into ``target`` (copies for names it lacks)."""
    for name, sketch in source.items():
        if name in target:
            target[name] += sketch  # type: ignore[operator]
        else:
            target[name] = sketch.copy()


def encode_features(features: Mapping[str, Sketch]) -> bytes:
    return orjson.dumps(sketches_to_json(features))


def decode_features(raw: bytes) -> dict[str, Sketch]:
    return sketches_from_json(orjson.loads(raw))


class ReferenceChooser:
    """The reference of each window of one model, by its configured kind."""

    def __init__(
        self,
        model_id: str,
        static: Mapping[str, Sketch],
        mode: ReferenceMode,
        window_s: int,
        read: Callable[[str], bytes | None],
        keep_seasons: bool = False,
    ) -> None:
        self.model_id, self.static, self.mode, self.window_s = model_id, static, mode, window_s
        self.read = read
        self.keep_seasons = keep_seasons or mode.kind == "seasonal"
        self.seasons: dict[str, dict[str, Sketch]] = {}  # cached slots, by table key

    def choose(
        self, window_start: int, evaluated: Mapping[int, Mapping[str, Sketch]]
    ) -> tuple[Mapping[str, Sketch], str]:
        """The reference for the window at ``window_start`` and its name; ``evaluated``
        maps earlier windows' starts to their feature sketches."""
        if self.mode.kind == "rolling":
            since = window_start - self.mode.windows * self.window_s
            previous = [f for s, f in sorted(evaluated.items()) if since <= s < window_start]
            if previous:
                merged: dict[str, Sketch] = {}
                for features in previous:
                    merge_into(merged, features)
                return merged, f"rolling ({len(previous)} windows)"
        elif self.mode.kind == "seasonal":
            slot = self.last_week(window_start)
            if slot:
                return slot, "seasonal (same hour last week)"
        kind = "static" if self.mode.kind == "static" else "static (no earlier data yet)"
        return self.static, kind

    def last_week(self, window_start: int) -> dict[str, Sketch]:
        """The merged windows of the same hour last week ({} when there are none)."""
        week, hour = week_and_hour(window_start)
        return self._slot(season_key(self.model_id, week - 1, hour))

    def observe(self, window_start: int, features: Mapping[str, Sketch]) -> dict[str, bytes | None]:
        """Fold a first-time evaluated window into its seasonal slot; the table writes
        (None: delete) that keep this week's and last week's slots."""
        if not self.keep_seasons:
            return {}
        week, hour = week_and_hour(window_start)
        key = season_key(self.model_id, week, hour)
        slot = self._slot(key)
        merge_into(slot, features)
        self.seasons[key] = slot
        stale = season_key(self.model_id, week - 2, hour)
        return {key: encode_features(slot), stale: None}

    def _slot(self, key: str) -> dict[str, Sketch]:
        hour = key.rsplit("\x00", 1)[1]
        for cached in [k for k in self.seasons if k.rsplit("\x00", 1)[1] != hour]:
            del self.seasons[cached]  # only the current hour's slots are ever needed again
        if key not in self.seasons:
            raw = self.read(key)
            self.seasons[key] = decode_features(raw) if raw else {}
        return self.seasons[key]
