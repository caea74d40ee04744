"""Redaction rules: each action against a hand computation, idempotent, the key never
shown, and the config refusing rules that cannot fit their feature."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest
from pydantic import ValidationError

from streams.config.models import ModelConfig
from streams.privacy.redaction import PiiConfig, RedactionError, Redactor, read_key

KEY = "s3cret-pii-key"
CONFIG = PiiConfig.model_validate(
    {
        "key_env": "PII_KEY",
        "fields": {
            "features.email": "hash",
            "features.phone": {"mask": 4},
            "features.age": {"bucketize": [0, 18, 30, 45, 65]},
            "segments.user": "drop",
        },
    }
)
EVENT = {
    "model_id": "m",
    "prediction_id": "p1",
    "features": {"email": "ann@example.com", "phone": "+49 170 1234567", "age": 37, "x": 1.5},
    "segments": {"user": "Ann Example", "country": "DE"},
}


def redactor() -> Redactor:
    return Redactor.from_config(CONFIG, {"PII_KEY": KEY})


def test_each_action_as_computed_by_hand() -> None:
    out = redactor().apply(EVENT)
    digest = hmac.new(KEY.encode(), b"ann@example.com", hashlib.sha256).hexdigest()
    assert out["features"] == {
        "email": "h:" + digest[:16],
        "phone": "*" * 11 + "4567",
        "age": 30,
        "x": 1.5,
    }
    assert out["segments"] == {"country": "DE"}
    assert EVENT["features"]["email"] == "ann@example.com"  # the caller's dict untouched


def test_redacting_twice_changes_nothing_and_leaks_tells_the_two_apart() -> None:
    r = redactor()
    once = r.apply(EVENT)
    assert r.apply(once) == once
    assert r.leaks(once) == []
    assert r.leaks(EVENT) == ["features.email", "features.phone", "features.age", "segments.user"]


@pytest.mark.parametrize(("age", "edge"), [(-3, 0), (0, 0), (17.9, 0), (18, 18), (99, 65)])
def test_a_number_becomes_its_buckets_lower_edge(age: float, edge: float) -> None:
    assert redactor().apply({"features": {"age": age}})["features"]["age"] == edge


def test_missing_values_stay_missing() -> None:
    out = redactor().apply({"features": {"email": None, "age": None}})
    assert out["features"] == {"email": None, "age": None}


def test_the_key_is_read_from_env_or_file_and_never_shown(tmp_path: Path) -> None:
    with pytest.raises(RedactionError, match="PII_KEY is not set"):
        Redactor.from_config(CONFIG, {})
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    from_file = CONFIG.model_copy(update={"key_env": None, "key_file": key_file})
    assert read_key(from_file) == KEY.encode()
    assert KEY not in repr(redactor()) and KEY not in str(redactor())
    with pytest.raises(ValidationError, match="never inline"):
        PiiConfig.model_validate({"fields": {"features.email": "hash"}})


def test_the_model_config_refuses_rules_that_cannot_fit_their_feature() -> None:
    base = {"id": "m", "reference": "r.json", "features": {"email": "categorical", "x": "numeric"}}
    for fields, problem in [
        ({"features.x": "hash"}, "is numeric"),
        ({"features.email": {"bucketize": [0, 1]}}, "is categorical"),
        ({"features.nope": "hash"}, "not a feature"),
        ({"features.x": "drop"}, "is monitored"),
        ({"features.x": {"mask": 2}}, "is numeric"),
        ({"prediction.score": "drop"}, "features.<name> or segments.<name>"),
    ]:
        with pytest.raises(ValidationError, match=problem):
            ModelConfig.model_validate({**base, "pii": {"key_env": "K", "fields": fields}})
    ModelConfig.model_validate(
        {**base, "pii": {"key_env": "K", "fields": {"features.email": "hash"}}}
    )


def test_reference_columns_are_redacted_as_each_row_would_be() -> None:
    """Column-wise (a reference file) against row-wise (live events): the same values."""
    import numpy as np
    import pyarrow as pa

    from streams.offline.columns import TextColumn
    from streams.privacy.columns import redact_columns

    phones = ["+49 170 1", "+33 6 1", None, "+49 170 1"]
    emails = ["a@x.org", "b@x.org", "a@x.org", None]
    columns = {
        "phone": TextColumn.encode(pa.chunked_array([phones])),
        "email": TextColumn.encode(pa.chunked_array([emails])),
        "age": np.array([3.0, 18.0, float("nan"), 70.0]),
        "x": [1, 2, 3, 4],
    }
    r = redactor()
    out = redact_columns(r, columns)
    rows = [
        r.apply({"features": {"phone": p, "email": e, "age": a}})["features"]
        for p, e, a in zip(phones, emails, columns["age"].tolist(), strict=True)
    ]
    for name in ("phone", "email"):
        column = out[name]
        assert [column.names[c] for c in column.codes] == [row[name] for row in rows]
    # two phones masked alike are one category now, not two of the same name
    assert len(out["phone"].names) == len(set(out["phone"].names))
    ages = [row["age"] for row in rows]
    assert np.array_equal(out["age"], np.array(ages, dtype=float), equal_nan=True)
    assert out["x"] == [1, 2, 3, 4]
