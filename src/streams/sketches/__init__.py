"""Mergeable sketches: merging the sketches of two parts of a stream gives the sketch of
the whole, which is what lets stage 1 fold per partition and stage 2 merge. Every one
implements :class:`Sketch` (base.py)."""

from streams.sketches.base import Sketch
from streams.sketches.categorical import OTHER, CategoricalSketch
from streams.sketches.collection import FeatureSketch
from streams.sketches.keys import stable_keys
from streams.sketches.numeric import DEFAULT_RESERVOIR, NumericSketch

__all__ = [
    "DEFAULT_RESERVOIR",
    "OTHER",
    "CategoricalSketch",
    "FeatureSketch",
    "NumericSketch",
    "Sketch",
    "stable_keys",
]
