"""Mergeable per-feature sketches: merging the sketches of two parts of a stream gives the
sketch of the whole, which is what lets stage 1 fold per partition and stage 2 merge."""

from streams.sketches.categorical import OTHER, CategoricalSketch
from streams.sketches.keys import stable_keys
from streams.sketches.numeric import DEFAULT_RESERVOIR, NumericSketch

__all__ = ["DEFAULT_RESERVOIR", "OTHER", "CategoricalSketch", "NumericSketch", "stable_keys"]
