"""Reference profiles: the sketches of the training data that windows are compared with.

A profile fixes each numeric feature's bins (quantiles of the reference), so stage 1
can fold live events into histograms on the same bins without ever seeing raw
reference rows again. Built once from a file (``streams reference build``), stored
as JSON. Its numeric reservoirs share one key per row, so they join into the joint
sample that the multivariate test needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import orjson

from streams.codec import pack, unpack
from streams.errors import StreamsError
from streams.offline.columns import Column, TextColumn
from streams.privacy.columns import redact_columns
from streams.privacy.redaction import Redactor
from streams.sketches import CategoricalSketch, NumericSketch
from streams.sketches import FeatureSketch as Sketch
from streams.sketches.categories import looks_float_coded, looks_unbounded
from streams.sketches.collection import sketches_from_json, sketches_to_json
from streams.sketches.numeric import DEFAULT_RESERVOIR
from streams.sketches.quantiles import DEFAULT_QUANTILE_K

#: 2: numeric features carry a quantile sketch (a version 1 profile has none: rebuild).
PROFILE_VERSION = 2
TOPIC_VERSION = 1
DEFAULT_BINS = 10
#: Reservoir of each numeric reference feature: twice a window's, so the reference side
#: adds little sampling noise to the sample statistics (KS, Wasserstein, MMD).
REFERENCE_SAMPLE = 2 * DEFAULT_RESERVOIR
#: Quantile sketch of each numeric reference feature: rank error 0.0028 (a window's is
#: 0.0133), so the reference adds little to a window's KS bound; about 25 KB a feature.
REFERENCE_QUANTILE_K = 1000
#: Key seed of reference rows: fixed, so a profile is a function of its file.
REFERENCE_SEED = 1
DATA_SUFFIXES = (".csv", ".parquet", ".jsonl")
FeatureType = Literal["numeric", "categorical"]


class ReferenceProfileError(StreamsError, ValueError):
    """The reference data or profile cannot be used: rebuild it or fix the config it names."""


def _same_bins(a: Sketch, b: Sketch | None) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, NumericSketch) and isinstance(b, NumericSketch):
        return np.array_equal(a.edges, b.edges) and (a.lo, a.hi) == (b.lo, b.hi)
    return True


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def infer_type(values: Sequence[object]) -> FeatureType:
    """Numeric when every present value is a number, categorical otherwise."""
    present = (v for v in values if v is not None)
    first = next(present, None)  # a text column is decided by its first value
    numeric = first is not None and _is_number(first) and all(map(_is_number, present))
    return "numeric" if numeric else "categorical"


def row_keys(rows: int, seed: int) -> np.ndarray:
    """One random 64-bit key per row of a file, shared by all its numeric features (live
    events use the hash of their prediction id instead)."""
    return np.random.default_rng(seed).integers(0, 2**64 - 1, size=rows, dtype=np.uint64)


def _floats(values: Sequence[object] | np.ndarray) -> np.ndarray:
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return values
    return np.array([v if _is_number(v) else np.nan for v in values], dtype=float)


def fold_column(sketch: Sketch, values: Sequence[object] | Column, keys: np.ndarray) -> None:
    """Fold a whole column of a file into its sketch (``keys``: one per row)."""
    if isinstance(sketch, NumericSketch):
        sketch.update_batch(values, keys=keys)  # type: ignore[arg-type]
    elif isinstance(values, TextColumn):
        sketch.update_counts(values.counts())
    else:
        sketch.update_batch(values)


def numeric_bins(
    values: Sequence[object] | np.ndarray,
    bins: int = DEFAULT_BINS,
    sample_size: int = REFERENCE_SAMPLE,
    quantile_k: int = REFERENCE_QUANTILE_K,
) -> NumericSketch:
    """An empty sketch whose inner edges are the reference's quantiles."""
    x = _floats(values)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return NumericSketch([], 0.0, 0.0, sample_size, quantile_k)
    x = np.sort(x)  # one sort beats np.quantile's partitions around every edge
    edges = np.unique(_sorted_quantiles(x, np.linspace(0, 1, bins + 1)[1:-1]))
    return NumericSketch(edges, float(x[0]), float(x[-1]), sample_size, quantile_k)


def _sorted_quantiles(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``np.quantile(x, q)`` (linear interpolation) of an ascending ``x``."""
    position = q * (x.size - 1)
    below = np.floor(position).astype(np.intp)
    above = np.minimum(below + 1, x.size - 1)
    return x[below] + (x[above] - x[below]) * (position - below)


@dataclass
class ReferenceProfile:
    features: dict[str, Sketch]
    rows: int
    source: str = ""
    #: Categorical features the data file stored as integral floats (not saved: only
    #: :func:`reference_warnings` needs it, when the profile is built).
    float_coded: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def types(self) -> dict[str, FeatureType]:
        return {
            name: "numeric" if isinstance(s, NumericSketch) else "categorical"
            for name, s in self.features.items()
        }

    def empty_sketches(
        self, names: Sequence[str] | None = None, quantile_k: int = DEFAULT_QUANTILE_K
    ) -> dict[str, Sketch]:
        """Fresh sketches on this reference's bins, with a window's reservoir size and
        quantile sketch (``quantile_k`` 0: none, for a caller with the raw values)."""
        out: dict[str, Sketch] = {}
        for name in names or self.features:
            ref = self.features[name]
            if isinstance(ref, NumericSketch):
                out[name] = NumericSketch(ref.edges, ref.lo, ref.hi, DEFAULT_RESERVOIR, quantile_k)
            else:
                out[name] = ref.empty_like()
        return out

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "version": PROFILE_VERSION,
                "rows": self.rows,
                "source": self.source,
                "features": {
                    n: {"type": t, "sketch": self.features[n].to_dict()}
                    for n, t in self.types.items()
                },
            },
            option=orjson.OPT_INDENT_2,
        )

    def to_bytes(self) -> bytes:
        """The compact form published to the ``references`` topic."""
        body = {
            "rows": self.rows,
            "source": self.source,
            "features": sketches_to_json(self.features),
        }
        return pack(TOPIC_VERSION, body)

    @classmethod
    def from_bytes(cls, raw: bytes) -> ReferenceProfile:
        body = unpack(raw, TOPIC_VERSION, "published reference")
        return cls(sketches_from_json(body["features"]), body["rows"], body["source"])

    def bins_differ(self, other: ReferenceProfile) -> list[str]:
        """Features of both whose type or bins differ: window sketches made on one
        profile's bins cannot be compared with (or merged into) the other's."""
        return [
            name
            for name, theirs in other.features.items()
            if name in self.features and not _same_bins(self.features[name], theirs)
        ]

    @classmethod
    def from_json(cls, raw: bytes, source: str = "") -> ReferenceProfile:
        data = orjson.loads(raw)
        if data.get("version") != PROFILE_VERSION:
            raise ReferenceProfileError(
                f"{source}: profile version {data.get('version')!r} is not "
                f"supported (expected {PROFILE_VERSION}); rebuild it"
            )
        features: dict[str, Sketch] = {}
        for name, spec in data["features"].items():
            kind = NumericSketch if spec["type"] == "numeric" else CategoricalSketch
            features[name] = kind.from_dict(spec["sketch"])
        return cls(features, data["rows"], data.get("source", source))


def _infer(values: Sequence[object] | Column) -> FeatureType:
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return "numeric"
    if isinstance(values, TextColumn):
        return "categorical"
    return infer_type(values)  # type: ignore[arg-type]


def build_profile(
    columns: Mapping[str, Sequence[object] | Column],
    types: Mapping[str, FeatureType] | None = None,
    bins: int = DEFAULT_BINS,
    source: str = "",
    progress: Callable[[str], None] | None = None,
    sample_size: int = REFERENCE_SAMPLE,
    bins_from: ReferenceProfile | None = None,
    quantile_k: int = REFERENCE_QUANTILE_K,
) -> ReferenceProfile:
    """Profile every typed column (or every column, types inferred, when ``types`` is None).
    Columns are lists (None for missing) or numpy arrays (NaN for missing). With
    ``bins_from``, numeric features keep that profile's bins (a new reference for a
    running model must: its live windows are sketched on them). ``quantile_k`` 0 keeps
    no quantile sketch: for a caller that compares the raw columns."""
    wanted = dict(types) if types else {n: _infer(v) for n, v in columns.items()}
    missing = sorted(set(wanted) - set(columns))
    if missing:
        raise ReferenceProfileError(f"{source}: reference data lacks columns: {', '.join(missing)}")
    rows = len(next(iter(columns.values()), []))
    keys = row_keys(rows, REFERENCE_SEED)
    features: dict[str, Sketch] = {}
    float_coded: set[str] = set()
    for name, kind in wanted.items():
        values = columns[name]
        if kind == "numeric":
            if isinstance(values, TextColumn):
                values = values.objects()  # refused below, naming a value
            if not (isinstance(values, np.ndarray) and values.dtype.kind == "f"):
                bad = next((v for v in values if v is not None and not _is_number(v)), None)
                if bad is not None:
                    raise ReferenceProfileError(
                        f"{source}: column {name!r} is numeric in the config but holds {bad!r}"
                    )
            base = bins_from.features.get(name) if bins_from else None
            if isinstance(base, NumericSketch):
                sketch: Sketch = NumericSketch(
                    base.edges, base.lo, base.hi, sample_size, quantile_k
                )
            else:
                sketch = numeric_bins(values, bins, sample_size, quantile_k)
        else:
            sketch = CategoricalSketch()
            if isinstance(values, TextColumn) and values.float_coded:
                float_coded.add(name)  # a bare float array cannot tell: ints read so too
        fold_column(sketch, values, keys)
        features[name] = sketch
        if progress:
            progress(name)
    return ReferenceProfile(features, rows, source, frozenset(float_coded))


def categorical_names(types: Mapping[str, FeatureType] | None) -> list[str]:
    """The features to read as categories (``read_columns(..., categorical=)``)."""
    return [n for n, t in (types or {}).items() if t == "categorical"]


def reference_warnings(profile: ReferenceProfile) -> list[str]:
    """One line per categorical feature whose reference looks float-coded or unbounded:
    either makes live windows drift for no reason (docs/drift.md)."""
    lines = []
    for name, sketch in profile.features.items():
        if not isinstance(sketch, CategoricalSketch):
            continue
        tracked = sorted(sketch.tracked)
        if name in profile.float_coded:
            lines.append(
                f"{name}: categorical, but stored as integral floats ({tracked[0]}.0, ...): "
                f"named as integers ({tracked[0]!r}), as served ones are; is it a number?"
            )
        elif looks_float_coded(tracked):
            lines.append(
                f"{name}: categories look float-coded ({tracked[0]!r}, ...) while served "
                "integers are named '3', not '3.0': rebuild the profile with this version"
            )
        overflowed = sketch.n > sum(sketch.tracked.values())
        distinct = sketch.max_categories + 1 if overflowed else len(tracked)
        if looks_unbounded(distinct, sketch.n, sketch.max_categories):
            seen = f"more than {sketch.max_categories}" if overflowed else str(distinct)
            lines.append(
                f"{name}: {seen} distinct categories in {sketch.n} values looks unbounded "
                "(an id?): windows will be full of new categories; make it numeric or drop it"
            )
    return lines


def load_reference(
    path: Path,
    types: Mapping[str, FeatureType] | None = None,
    redactor: Redactor | None = None,
) -> ReferenceProfile:
    """Load a stored profile (.json) or profile a data file on the fly, under the
    model's redaction rules (a .json profile was built under them already)."""
    if not path.exists():
        raise ReferenceProfileError(f"{path}: reference not found")
    if path.suffix == ".json":
        profile = ReferenceProfile.from_json(path.read_bytes(), str(path))
    elif path.suffix in DATA_SUFFIXES:
        from streams.offline.columns import read_columns

        columns = read_columns(path, categorical=categorical_names(types))
        if redactor is not None:
            columns = redact_columns(redactor, columns)
        profile = build_profile(columns, types, source=str(path))
    else:
        raise ReferenceProfileError(
            f"{path}: unsupported reference; use a .json profile or a "
            f"{', '.join(DATA_SUFFIXES)} data file"
        )
    if types:
        absent = sorted(set(types) - set(profile.features))
        if absent:
            raise ReferenceProfileError(
                f"{path}: profile lacks configured features: {', '.join(absent)}"
            )
        wrong = sorted(n for n, t in types.items() if profile.types[n] != t)
        if wrong:
            raise ReferenceProfileError(
                f"{path}: feature types differ from the config for: {', '.join(wrong)}"
            )
    return profile
