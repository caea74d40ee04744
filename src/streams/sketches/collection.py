"""A named set of sketches (a window's features, a profile, a seasonal slot) as a
JSON-ready mapping: each sketch as its type and its binary form in base64."""

from __future__ import annotations

import base64
from collections.abc import Mapping

from streams.sketches.categorical import CategoricalSketch
from streams.sketches.numeric import NumericSketch

Sketch = NumericSketch | CategoricalSketch
_KINDS: dict[str, type[NumericSketch] | type[CategoricalSketch]] = {
    "numeric": NumericSketch,
    "categorical": CategoricalSketch,
}


def sketches_to_json(sketches: Mapping[str, Sketch]) -> dict[str, list[str]]:
    """Inverse of :func:`sketches_from_json`.

    >>> s = NumericSketch([1.0], 0.0, 2.0)
    >>> sketches_from_json(sketches_to_json({"x": s}))["x"].edges.tolist()
    [1.0]
    """
    return {
        name: [
            "numeric" if isinstance(s, NumericSketch) else "categorical",
            base64.b64encode(s.to_bytes()).decode("ascii"),
        ]
        for name, s in sketches.items()
    }


def sketches_from_json(data: Mapping[str, list[str]]) -> dict[str, Sketch]:
    out: dict[str, Sketch] = {}
    for name, (kind, blob) in data.items():
        if kind not in _KINDS:
            raise ValueError(f"sketch {name!r} has unknown type {kind!r}")
        out[name] = _KINDS[kind].from_bytes(base64.b64decode(blob))
    return out
