"""BJD_TDB (aphos_lib.barycentric) against astropy's own computation, to 1 ms and better."""

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.time import Time
from astropy.utils import iers

from aphos_lib.barycentric import GEOCENTRE_BOUND_S, bjd_minus_jd_s, bjd_tdb

SITES = [  # longitude, latitude, height: Brno, La Palma, Sydney, a pole
    (16.58, 49.20, 300.0),
    (-17.88, 28.76, 2396.0),
    (151.21, -33.87, 40.0),
    (0.0, -89.9, 2800.0),
]
STARS = [(315.3, 70.1), (30.92, 33.69), (101.29, -16.72), (0.1, -89.0), (180.0, 0.0)]


@pytest.fixture(autouse=True)
def _offline_iers():
    # The oracle reads the Earth orientation bundled with astropy, never the network.
    with iers.conf.set_temp("auto_download", False), iers.conf.set_temp("auto_max_age", None):
        yield


GEOCENTRE = EarthLocation.from_geocentric(0, 0, 0, unit=u.m)


def _astropy_offset_s(jd, ra, dec, site=GEOCENTRE):
    """astropy's BJD_TDB - JD_UTC in seconds (its Time keeps two doubles: no rounding)."""
    time = Time(jd, format="jd", scale="utc", location=site)
    star = SkyCoord(ra * u.deg, dec * u.deg)
    delay = time.light_travel_time(star, kind="barycentric", ephemeris="builtin")
    tdb = time.tdb
    # The labels' difference (a Time difference would be that of the instants: zero).
    tdb_minus_utc_s = ((tdb.jd1 - time.jd1) + (tdb.jd2 - time.jd2)) * 86400.0
    return tdb_minus_utc_s + delay.to_value(u.s)


def _astropy_bjd(jd, ra, dec, site=GEOCENTRE):
    return jd + _astropy_offset_s(jd, ra, dec, site) / 86400.0


def test_bjd_tdb_equals_astropys_at_observers_sites_to_a_millisecond():
    rng = np.random.default_rng(1)
    jd = np.sort(rng.uniform(Time("2019-01-01").jd, Time("2024-06-01").jd, 300))
    worst = 0.0
    for longitude, latitude, height in SITES:
        site = EarthLocation.from_geodetic(longitude * u.deg, latitude * u.deg, height * u.m)
        for ra, dec in STARS:
            site_kw = dict(longitude_deg=longitude, latitude_deg=latitude, height_m=height)
            ours = bjd_minus_jd_s(jd, ra, dec, **site_kw)
            worst = max(worst, float(np.abs(ours - _astropy_offset_s(jd, ra, dec, site)).max()))
            # As a Julian date: the same within the 40 microseconds a float64 JD resolves.
            as_jd = np.abs(bjd_tdb(jd, ra, dec, **site_kw) - _astropy_bjd(jd, ra, dec, site))
            assert as_jd.max() * 86400 < 1e-4
    print(f"largest difference from astropy at a site: {worst * 1e6:.1f} microseconds")
    assert worst < 1e-3
    # In fact far better: TDB-TT's series is good to 10 microseconds, the rest to a few.
    assert worst < 2.5e-5


def test_the_geocentric_approximation_stays_within_its_stated_bound():
    rng = np.random.default_rng(2)
    jd = rng.uniform(Time("2020-01-01").jd, Time("2023-12-31").jd, 500)
    largest = 0.0
    for longitude, latitude, height in SITES:
        site = EarthLocation.from_geodetic(longitude * u.deg, latitude * u.deg, height * u.m)
        for ra, dec in STARS:
            geocentric = bjd_minus_jd_s(jd, ra, dec)
            at_site = _astropy_offset_s(jd, ra, dec, site)
            largest = max(largest, float(np.abs(geocentric - at_site).max()))
            # The geocentre is astropy's value without a location.
            assert np.abs(geocentric - _astropy_offset_s(jd, ra, dec)).max() < 2.5e-5
    print(f"geocentre vs site: up to {largest * 1e3:.2f} ms (bound {GEOCENTRE_BOUND_S * 1e3:.2f})")
    assert largest <= GEOCENTRE_BOUND_S
    assert largest > 0.5 * GEOCENTRE_BOUND_S  # the bound is not vacuous


def test_missing_times_stay_missing_and_a_partial_site_is_the_geocentre():
    jd = np.array([2459525.3, np.nan])
    out = bjd_tdb(jd, 315.3, 70.1, longitude_deg=16.58)
    assert np.isnan(out[1])
    assert out[0] == bjd_tdb(jd[:1], 315.3, 70.1)[0]
    # BJD_TDB differs from the UTC JD by TDB-UTC (69.2 s) plus up to 8.3 min of light time.
    assert 60 < abs(out[0] - jd[0]) * 86400 < 69.2 + 500


def test_dates_decades_apart_are_as_exact_as_a_season(monkeypatch):
    # A light curve with a stray old date spans hundreds of the Earth's knot blocks: only the
    # blocks used are computed, and the dates between them are as exact as ever.
    from aphos_lib import barycentric

    computed = []
    block = barycentric._earth_block.__wrapped__
    monkeypatch.setattr(barycentric, "_earth_block", lambda b: computed.append(b) or block(b))
    rng = np.random.default_rng(2)
    jd = np.concatenate(
        [
            rng.uniform(Time("1975-03-01").jd, Time("1975-03-20").jd, 20),
            rng.uniform(Time("2024-08-01").jd, Time("2024-11-01").jd, 80),
        ]
    )
    ours = bjd_minus_jd_s(jd, 315.3, 70.1)
    assert np.abs(ours - _astropy_offset_s(jd, 315.3, 70.1)).max() < 2.5e-5
    assert 2 <= len(computed) <= 4 and len(set(computed)) == len(computed)
