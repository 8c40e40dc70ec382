"""Sexagesimal angles, checked against astropy's Angle to 1 milliarcsecond."""

from __future__ import annotations

import warnings

import astropy.units as u
import numpy as np
import pyarrow as pa
import pytest
from astropy.coordinates import Angle
from hypothesis import given, settings
from hypothesis import strategies as st

from aphos_lib.coordinates import AngleParseError, parse_sexagesimal
from aphos_lib.io.columns import to_angles

MAS = 1 / 3_600_000  # degrees


def astropy_degrees(text: str, *, hours: bool) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # astropy warns about 60 s but carries it
        return Angle(text, unit=u.hourangle if hours else u.deg).degree


@pytest.mark.parametrize(
    ("text", "hours", "expected"),
    [
        ("+00 30 00", False, 0.5),
        ("-00 10 00", False, -10 / 60),
        ("-00 00 30.0", False, -30 / 3600),
        ("+71 18 38.60", False, 71 + 18 / 60 + 38.60 / 3600),
        ("21 41 55.318", True, 15 * (21 + 41 / 60 + 55.318 / 3600)),
        ("21:41:55.318", True, 15 * (21 + 41 / 60 + 55.318 / 3600)),
        ("21h41m55.318s", True, 15 * (21 + 41 / 60 + 55.318 / 3600)),
        ("-89:59:59.99", False, -(89 + 59 / 60 + 59.99 / 3600)),
        ("+69 31 60.00", False, 69 + 32 / 60),  # SIPS's rounding carry, in the fixtures
        ("  21 41 55.3  ", True, 15 * (21 + 41 / 60 + 55.3 / 3600)),
        ("90 00 00", False, 90.0),
    ],
)
def test_values_match_hand_computed_and_astropy(text, hours, expected):
    value = parse_sexagesimal(text, hours=hours)
    assert value == pytest.approx(expected, abs=MAS)
    assert value == pytest.approx(astropy_degrees(text, hours=hours), abs=MAS)


def test_sign_of_declinations_just_south_of_the_equator():
    # The original APhoS took the sign from the degrees field and put these in the north.
    assert parse_sexagesimal("-00 10 00", hours=False) < 0
    assert parse_sexagesimal("+00 30 00", hours=False) > 0


@pytest.mark.parametrize(
    ("text", "hours", "reason"),
    [
        ("21 60 00", True, "minutes 60 must be below 60"),
        ("21 41 60.5", True, "seconds 60.5 must be below 60"),
        ("24 00 00", True, "right ascension must be below 24 h"),
        ("25 10 00", True, "right ascension must be below 24 h"),
        ("-01 00 00", True, "cannot be negative"),
        ("+90 00 01", False, "declination must be within -90..+90"),
        ("-91 00 00", False, "declination must be within -90..+90"),
        ("+67 aa 07.24", False, "is not a sexagesimal angle"),
        ("12.5", True, "is not a sexagesimal angle"),
        ("", False, "is empty"),
    ],
)
def test_out_of_range_and_malformed_angles_are_errors(text, hours, reason):
    with pytest.raises(AngleParseError, match=reason.replace("(", r"\(").replace("+", r"\+")):
        parse_sexagesimal(text, hours=hours)


angles = st.tuples(
    st.sampled_from(["+", "-", ""]),
    st.integers(0, 89),
    st.integers(0, 59),
    st.floats(0, 59.999, allow_nan=False).map(lambda s: round(s, 3)),
    st.sampled_from([" ", ":"]),
)


@settings(max_examples=300, deadline=None)
@given(angles)
def test_random_declinations_agree_with_astropy_and_the_fast_path(parts):
    sign, d, m, s, sep = parts
    text = f"{sign}{d:02d}{sep}{m:02d}{sep}{s:06.3f}"
    slow = parse_sexagesimal(text, hours=False)
    assert slow == pytest.approx(astropy_degrees(text, hours=False), abs=MAS)
    fast = to_angles(pa.array([text]), hours=False)
    assert not fast.errors
    assert fast.values[0] == pytest.approx(slow, abs=1e-12)
    assert np.signbit(fast.values[0]) == np.signbit(slow) or slow == 0


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 23), st.integers(0, 59), st.floats(0, 59.9999).map(lambda s: round(s, 4)))
def test_random_right_ascensions_agree_with_astropy_and_the_fast_path(h, m, s):
    text = f"{h:02d} {m:02d} {s:07.4f}"
    slow = parse_sexagesimal(text, hours=True)
    assert slow == pytest.approx(astropy_degrees(text, hours=True), abs=MAS)
    assert to_angles(pa.array([text]), hours=True).values[0] == pytest.approx(slow, abs=1e-12)


def test_fast_path_sends_everything_unusual_to_the_scalar_rules():
    texts = ["21 41 55.318", "21h41m55.3s", "24 00 00", "21 61 00", "", "bad", "23 59 60.000"]
    converted = to_angles(pa.array(texts), hours=True)
    assert converted.values[0] == pytest.approx(parse_sexagesimal(texts[0], hours=True))
    assert converted.values[1] == pytest.approx(parse_sexagesimal(texts[1], hours=True))
    assert converted.null.tolist() == [False, False, False, False, True, False, False]
    assert sorted(converted.errors) == [2, 3, 5]
    assert "below 24 h" in converted.errors[2]
    assert "minutes 61" in converted.errors[3]
    assert converted.values[6] == 0.0  # a carry to 24 h is 0 h
