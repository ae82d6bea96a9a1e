"""One reader for every time Kosli sends: numbers, numeric strings and ISO 8601 all read
as the same moment; junk reads as missing, never as a crash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.kosli.parsing import moment, time_of

SEP_6 = datetime(2022, 9, 6, 14, 53, 28, tzinfo=UTC)  # 1662476008


@pytest.mark.parametrize(
    "value",
    [
        1662476008,
        1662476008.0,
        "1662476008",
        " 1662476008.0 ",
        "2022-09-06T14:53:28Z",
        "2022-09-06T14:53:28+00:00",
        "2022-09-06T16:53:28+02:00",
        "2022-09-06T09:53:28-0500",
        "2022-09-06T14:53:28.000Z",
        "2022-09-06T14:53:28",  # no zone: UTC, as Kosli's snappish `@{...}` reads it
        "2022-09-06 14:53:28Z",
    ],
)
def test_every_form_reads_as_the_same_moment(value: Any) -> None:
    assert moment(value) == SEP_6


def test_fractions_are_kept() -> None:
    expected = SEP_6 + timedelta(microseconds=493415)
    assert moment(1662476008.493415) == expected
    assert moment("1662476008.493415") == expected
    assert moment("2022-09-06T14:53:28.493415Z") == expected
    assert moment("2022-09-06T14:53:28.493415789Z") == expected  # nanoseconds: cut to micro
    assert moment("2022-09-06T14:53:28.5+02:00") == datetime(
        2022, 9, 6, 12, 53, 28, 500000, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "junk",
    [
        None,
        True,
        False,
        0,
        -5,
        "0",
        "",
        "   ",
        "soon",
        "nan",
        "inf",
        "-inf",
        float("nan"),
        float("inf"),
        1e300,
        "1e300",
        "0001-01-01T00:00:00Z",  # Go's zero time
        "0001-01-01T00:00:00+10:00",  # past year 1 in UTC
        "9999-12-31T23:59:59-10:00",  # past year 9999 in UTC
        "1969-12-31T23:59:59Z",
        "2022-13-40T99:99:99Z",
        "2022-09-06T14:53:28Zjunk",
        [1662476008],
        {"seconds": 1662476008},
    ],
)
def test_junk_reads_as_missing(junk: Any) -> None:
    assert moment(junk) is None


def test_time_of_reads_a_field_and_misses_quietly() -> None:
    assert time_of({"at": "2022-09-06T14:53:28Z"}, "at") == SEP_6
    assert time_of({"at": "soon"}, "at") is None
    assert time_of({}, "at") is None


_AWARE = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(9998, 12, 31),
    timezones=st.builds(
        timezone, st.integers(-14 * 60, 14 * 60).map(lambda m: timedelta(minutes=m))
    ),
)


@given(_AWARE)
def test_iso_and_epoch_agree_on_any_moment(at: datetime) -> None:
    utc = at.astimezone(UTC)
    assert moment(at.isoformat()) == utc
    assert moment(utc.isoformat().replace("+00:00", "Z")) == utc
    assert moment(utc.timestamp()) == pytest.approx(
        utc, abs=timedelta(microseconds=100)
    )  # a float's precision
    assert moment(str(utc.timestamp())) == moment(utc.timestamp())


@given(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(),
        st.lists(st.integers(), max_size=2),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    )
)
def test_anything_reads_as_a_utc_moment_or_missing(value: Any) -> None:
    read = moment(value)
    assert read is None or (read.tzinfo is UTC and read.timestamp() > 0)
