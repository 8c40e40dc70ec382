"""The night, JD and nearest-source rules, against hand computation and astropy."""

from __future__ import annotations

import numpy as np
from astropy.time import Time

from aphos_lib.light_curve_rules import julian_date, nearest_source, night


def _us(iso: str) -> int:
    return int(np.datetime64(iso, "us").astype(np.int64))


def test_a_night_turns_at_local_noon():
    # Local noon at 15 degrees east is 11:00 UTC: one microsecond before it is the night
    # before, noon itself begins the new night.
    times = [_us("2021-11-06T10:59:59.999999"), _us("2021-11-06T11:00:00")]
    assert night(times, [15.0, 15.0]).astype(str).tolist() == ["2021-11-05", "2021-11-06"]
    # Unknown longitude: noon UTC.
    times = [_us("2021-11-06T11:59:59"), _us("2021-11-06T12:00:00")]
    assert night(times, [np.nan, np.nan]).astype(str).tolist() == ["2021-11-05", "2021-11-06"]
    # Across the date line and before 1970 the floor division still names the right date.
    assert night([_us("1969-12-31T23:00:00")], [179.0]).astype(str).tolist() == ["1969-12-31"]
    assert night([_us("2021-01-01T00:30:00")], [-179.5]).astype(str).tolist() == ["2020-12-31"]


def test_the_jd_is_the_headers_else_the_utc_times():
    times = np.array([_us("2021-11-06T16:28:30.5"), _us("2000-01-01T12:00:00")])
    jd = julian_date([np.nan, np.nan], times)
    expected = Time(["2021-11-06T16:28:30.5", "2000-01-01T12:00:00"], scale="utc").jd
    np.testing.assert_allclose(jd, expected, rtol=0, atol=1e-9)
    assert julian_date([2459525.123456789, np.nan], times)[0] == 2459525.123456789


def test_one_source_per_image_the_nearest_and_the_first_of_a_tie():
    ids = [5, 5, 5, 8, 9, 9]
    ra = [10.01, 10.0, 10.02, 10.0, 10.0, 10.0]  # image 9: the same position twice
    dec = [50.0, 50.0001, 50.0, 50.0, 50.0, 50.0]
    assert nearest_source(ids, ra, dec, 10.0, 50.0).tolist() == [1, 3, 4]
    assert nearest_source([1, 2, 3], ra[:3], dec[:3], 0.0, 0.0).tolist() == [0, 1, 2]
    assert nearest_source([], [], [], 1.0, 1.0).tolist() == []
