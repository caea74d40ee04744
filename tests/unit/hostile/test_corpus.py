"""The hostile corpus through stage 1, the label join, telemetry and stage 2: no
exception escapes, every message leaves a trace (a folded event or a dead letter with a
reason of REASONS), every dead-letter record is bounded, and the reasons are the ones
each kind was written to provoke.

Run twice: with the worker's default event limit (big values are ``oversize``) and with
a 32 MB one, so that the 2 MB, 10 MB and 100k-key values reach validation and the fold.
"""

from __future__ import annotations

import pytest
from tests.unit.hostile.corpus import (
    LABEL_NUMBERS,
    NON_FINITE,
    PREDICTION_NUMBERS,
    TELEMETRY_NUMBERS,
    label_kinds,
    one,
    prediction,
    prediction_kinds,
    telemetry_kinds,
)
from tests.unit.hostile.harness import MAX_EVENT_BYTES, Pipeline

from streams.events.decode import DEADLETTER_KEY_MAX_BYTES, deadletter_key

LIMITS = (MAX_EVENT_BYTES, 32 * 1024 * 1024)
BACKGROUND = 600  # valid predictions around the hostile ones: five windows' worth


def test_the_corpus_has_every_kind_the_issue_names() -> None:
    kinds = set(prediction_kinds())
    named = {
        "bad_json", "json_array", "empty", "null_key", "value_2mb", "value_10mb",
        "invalid_utf8", "features_100k_keys", "deep_nesting", "huge_ids", "huge_key",
        "strings_for_numbers", "unknown_model", "extra_fields", "non_finite",
    }  # fmt: skip
    assert named <= kinds and len(kinds) >= 20


@pytest.mark.parametrize("max_event_bytes", LIMITS)
@pytest.mark.parametrize("kind", sorted(prediction_kinds()))
def test_predictions_of_each_kind_leave_a_trace_and_raise_nothing(
    kind: str, max_event_bytes: int
) -> None:
    pipeline = Pipeline(max_event_bytes=max_event_bytes)
    messages = prediction_kinds()[kind]
    pipeline.predictions([one(prediction(i)) for i in range(BACKGROUND // 2)])
    for message in messages:
        before = pipeline.accepted + sum(pipeline.deadletters.values())
        pipeline.predictions([message])
        assert pipeline.accepted + sum(pipeline.deadletters.values()) > before, message[1][:80]
    pipeline.predictions([one(prediction(i)) for i in range(BACKGROUND // 2, BACKGROUND)])
    pipeline.finish()
    assert sum(latest_counts(pipeline).values()) >= BACKGROUND  # late ones in revisions


def latest_counts(pipeline: Pipeline) -> dict[int, int]:
    """Each window's count in its latest revision."""
    latest: dict[int, tuple[int, int]] = {}
    for r in pipeline.records:
        latest[r["window_start"]] = max(
            latest.get(r["window_start"], (-1, 0)), (r["revision"], r["count"])
        )
    return {start: count for start, (_, count) in latest.items()}


def reasons(kind: str, max_event_bytes: int = MAX_EVENT_BYTES) -> dict[str, int]:
    pipeline = Pipeline(max_event_bytes=max_event_bytes)
    pipeline.predictions(prediction_kinds()[kind])
    return dict(pipeline.deadletters)


def test_nan_and_infinity_in_every_numeric_field_are_non_finite() -> None:
    assert reasons("non_finite") == {"non_finite": len(PREDICTION_NUMBERS) * len(NON_FINITE)}


def test_scores_outside_zero_to_one_are_out_of_range() -> None:
    assert reasons("score_out_of_range") == {"out_of_range": 4}


def test_big_values_are_oversize_under_the_default_limit() -> None:
    for kind in ("value_2mb", "value_10mb", "features_100k_keys"):
        assert reasons(kind) == {"oversize": 1}, kind


def test_under_a_permissive_limit_big_values_are_validated_and_folded() -> None:
    permissive = LIMITS[1]
    assert reasons("value_2mb", permissive) == {}  # a 2 MB category is a valid event
    assert reasons("value_10mb", permissive) == {"schema": 1}  # no prediction fields
    assert reasons("features_100k_keys", permissive) == {}  # unconfigured features ignored


def test_a_huge_key_is_cut_in_the_dead_letter() -> None:
    assert reasons("huge_key") == {"bad_json": 1}
    key = deadletter_key(b"k" * 985_000)
    assert key is not None and len(key) == DEADLETTER_KEY_MAX_BYTES


def test_strings_for_numbers_are_coerced_where_pydantic_is_lax_and_refused_elsewhere() -> None:
    # score "0.5" and latency "10" coerce (lax single events); schema_version "1" is
    # no Literal[1]; a string for a numeric feature is the config's wrong_type
    assert reasons("strings_for_numbers") == {"wrong_type": 1, "schema": 1}


def test_extreme_feature_values_are_valid_events() -> None:
    assert reasons("extreme_feature") == {}


@pytest.mark.parametrize("kind", sorted(label_kinds()))
def test_labels_of_each_kind_raise_nothing(kind: str) -> None:
    pipeline = Pipeline()
    pipeline.predictions([one(prediction(i)) for i in range(20)])
    pipeline.labels(label_kinds()[kind])
    pipeline.finish()
    assert all(r["count"] for r in pipeline.records)


def test_nan_and_infinity_in_a_label_value_are_non_finite() -> None:
    pipeline = Pipeline()
    pipeline.labels(label_kinds()["non_finite"])
    assert dict(pipeline.deadletters) == {"non_finite": len(LABEL_NUMBERS) * len(NON_FINITE)}


@pytest.mark.parametrize("kind", sorted(telemetry_kinds()))
def test_telemetry_of_each_kind_raises_nothing(kind: str) -> None:
    Pipeline().telemetry(telemetry_kinds()[kind])


def test_nan_and_infinity_in_every_telemetry_number_are_non_finite() -> None:
    pipeline = Pipeline()
    pipeline.telemetry(telemetry_kinds()["non_finite"])
    assert dict(pipeline.deadletters) == {"non_finite": len(TELEMETRY_NUMBERS) * len(NON_FINITE)}
