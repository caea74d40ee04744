"""Mergeable per-feature sketches: merging the sketches of two parts of a stream gives the
sketch of the whole, which is what lets stage 1 fold per partition and stage 2 merge."""

from streams.sketches.categorical import CategoricalSketch
from streams.sketches.numeric import NumericSketch

__all__ = ["CategoricalSketch", "NumericSketch"]
