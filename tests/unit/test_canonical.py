"""Canonical JSON (RFC 8785) and the payload conventions of events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proofdesk.canonical import (
    MAX_SAFE_INTEGER,
    canonical_json,
    decimal_string,
    format_time,
    parse_time,
)
from proofdesk.errors import InvalidInput
from tests.support import paths

VECTORS = paths.VECTORS


def test_rfc8785_property_order() -> None:
    vector = json.loads((VECTORS / "rfc8785_sorting.json").read_text())
    encoded = canonical_json(vector["input"]).decode()
    assert list(json.loads(encoded)) == vector["expected_key_order"]


def test_compact_and_unicode_literal() -> None:
    assert (
        canonical_json({"b": [1, True, None], "a": "提币"})
        == '{"a":"提币","b":[1,true,null]}'.encode()
    )


@pytest.mark.parametrize(
    "bad", [1.5, {"x": 0.1}, [2**53], {1: "k"}, b"bytes", {"t": datetime.now(UTC)}]
)
def test_payload_conventions_refuse(bad: object) -> None:
    with pytest.raises(InvalidInput):
        canonical_json(bad)


json_values = st.recursive(
    st.none() | st.booleans() | st.text() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_canonical_round_trip_is_a_fixed_point(value: object) -> None:
    encoded = canonical_json(value)
    assert json.loads(encoded) == value
    assert canonical_json(json.loads(encoded)) == encoded


@given(
    st.datetimes(
        min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
    ),
    st.integers(-12, 14),
)
def test_times_round_trip_in_utc(moment: datetime, offset: int) -> None:
    local = moment.astimezone(timezone(timedelta(hours=offset)))
    text = format_time(local)
    assert text.endswith("Z") and len(text) == 27
    assert parse_time(text) == moment


def test_time_errors() -> None:
    with pytest.raises(InvalidInput):
        format_time(datetime(2026, 1, 1))  # naive
    for bad in ("yesterday", "2026-01-01T00:00:00"):
        with pytest.raises(InvalidInput):
            parse_time(bad)


def test_decimal_strings() -> None:
    assert decimal_string("1E+3") == "1000"
    assert decimal_string("129.990") == "129.990"
    assert decimal_string(5) == "5"
    for bad in ("NaN", "Infinity", "1,5", ""):
        with pytest.raises(InvalidInput):
            decimal_string(bad)
