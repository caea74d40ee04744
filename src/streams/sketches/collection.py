"""A named set of feature sketches (a window's features, a profile, a seasonal slot) as
a JSON-ready mapping: each sketch as its type and its binary form in base64."""

from __future__ import annotations

from collections.abc import Mapping

from streams.sketches.bytes import from_text, to_text
from streams.sketches.categorical import CategoricalSketch
from streams.sketches.numeric import NumericSketch

#: The sketch of one feature, numeric or categorical: declared here once.
FeatureSketch = NumericSketch | CategoricalSketch
_KINDS: dict[str, type[FeatureSketch]] = {
    "numeric": NumericSketch,
    "categorical": CategoricalSketch,
}


def sketches_to_json(sketches: Mapping[str, FeatureSketch]) -> dict[str, list[str]]:
    """Inverse of :func:`sketches_from_json`.

    >>> s = NumericSketch([1.0], 0.0, 2.0)
    >>> sketches_from_json(sketches_to_json({"x": s}))["x"].edges.tolist()
    [1.0]
    """
    return {
        name: [
            "numeric" if isinstance(s, NumericSketch) else "categorical",
            to_text(s.to_bytes()),
        ]
        for name, s in sketches.items()
    }


def sketches_from_json(data: Mapping[str, list[str]]) -> dict[str, FeatureSketch]:
    out: dict[str, FeatureSketch] = {}
    for name, (kind, blob) in data.items():
        if kind not in _KINDS:
            raise ValueError(f"sketch {name!r} has unknown type {kind!r}")
        out[name] = _KINDS[kind].from_bytes(from_text(blob))
    return out
