"""Times of minimum and maximum night by night, ephemerides and O-C (aphos_lib.minima).

Synthetic archives whose truth is known exactly, then the demo archive, whose generator's
ephemerides of GK Cep and of the RR Lyrae star are the oracle.
"""

import time

import numpy as np
import pandas as pd
import pytest

from aphos_lib import LightCurve
from aphos_lib.demo.variables import eclipsing_magnitude
from aphos_lib.ephemeris import fit_ephemeris
from aphos_lib.photometry import differential_photometry

P, E0 = 0.936, 2459525.3
GK_CEP_MODEL = dict(
    mag_max=8.42,
    period_d=P,
    epoch_hjd=E0,
    depth_primary=0.3,
    depth_secondary=0.2,
    eclipse_sigma_phase=0.08,
    ellipsoidal_amplitude=0.04,
)
HALF_DEPTH_HALF_WIDTH = 1.1774 * 0.08 * P  # of GK Cep's Gaussian eclipses, days


def _nights(rng, count, span_days, length=(0.2, 0.4), noise=0.01):
    """An observer's archive of ``count`` nights: 2-minute cadence, a tenth lost to clouds."""
    rows = []
    for night in rng.choice(np.arange(span_days), count, replace=False):
        start = E0 + night + rng.uniform(-0.15, 0.05)
        t = np.arange(start, start + rng.uniform(*length), 120 / 86400)
        t = t[rng.random(len(t)) > 0.1]
        m = eclipsing_magnitude(t, **GK_CEP_MODEL) + rng.normal(0, noise, len(t))
        rows += [(ti, mi, int(night)) for ti, mi in zip(t, m, strict=True)]
    frame = pd.DataFrame(rows, columns=["hjd", "magnitude", "night"])
    frame["deviation"] = noise
    return frame


def _covered(frame, margin=1.1):
    """(night, cycle) of every minimum a night covers to past half depth on both branches."""
    out = set()
    for night, group in frame.groupby("night"):
        t = group["hjd"].to_numpy()
        first = np.floor((t.min() - E0) / P * 2) - 1
        for cycle in np.arange(first, first + 4 + 2 * (t.max() - t.min()) / P) / 2:
            centre = E0 + cycle * P
            reach = margin * HALF_DEPTH_HALF_WIDTH
            if t.min() <= centre - reach and t.max() >= centre + reach:
                out.add((night, float(cycle)))
    return out


def test_every_night_that_covers_a_minimum_yields_one_and_nothing_else():
    frame = _nights(np.random.default_rng(3), 80, 700)
    table = LightCurve(frame).minima().table
    cycles = np.round((table["time"] - E0) / P * 2) / 2
    found = set(zip(table["night"], cycles.astype(float), strict=True))
    covered = _covered(frame)
    print(f"{len(covered)} minima covered, {len(found)} timed")
    assert covered <= found
    # Anything else timed is a real minimum covered a little less, never noise.
    assert len(found) == len(table)
    assert found <= _covered(frame, margin=0.7)
    # Typed by depth alone (no ephemeris yet), a partly covered minimum can look shallow.
    types = np.where(cycles % 1, "secondary", "primary")
    right = np.mean(table["type"].to_numpy() == types)
    print(f"typed right by depth: {right:.0%}")
    assert right >= 0.9
    assert (table["n_before"] >= 3).all() and (table["n_after"] >= 3).all()
    within = np.abs(table["time"] - (E0 + cycles * P)) <= 3 * table["error_d"]
    print(f"true time within 3 errors: {within.mean():.0%} of {len(table)}")
    assert within.mean() >= 0.9


def test_the_ephemeris_is_found_from_the_minima_alone_and_their_o_c_is_flat():
    frame = _nights(np.random.default_rng(4), 120, 900)
    timings = LightCurve(frame).o_c()
    eph = timings.ephemeris
    print(f"fitted {eph}; true {E0} + {P} E; chi2/dof {eph.chi2_dof:.2f}")
    assert abs(eph.period - P) < 3 * eph.period_error
    assert abs(eph.period - P) < 1e-5
    assert abs(eph.predict(round((E0 - eph.epoch) / P)) - E0) < 3 * eph.epoch_error + 1e-4
    table = timings.table
    truth = np.where(np.round((table["time"] - E0) / P * 2) % 2, "secondary", "primary")
    assert list(table["type"]) == list(truth)  # with an ephemeris, types follow the cycles
    z = table["o_c_d"] / table["error_d"]
    assert np.median(np.abs(z)) < 1.5  # flat: residuals of the size of their errors


def test_fit_ephemeris_counts_cycles_and_fits_a_period_change():
    rng = np.random.default_rng(8)
    cycles = np.sort(rng.choice(np.arange(-3000, 3000), 60, replace=False)).astype(float)
    cycles[::3] += 0.5  # secondaries
    errors = np.full(len(cycles), 3e-4)
    q = 2.0e-9  # dP/dE = 4e-9 d per cycle
    times = E0 + P * cycles + q * cycles**2 + rng.normal(0, 3e-4, len(cycles))
    kinds = np.where(cycles % 1, "secondary", "primary")
    quadratic = fit_ephemeris(times, errors, kinds, period=P + 2e-6, quadratic=True)
    print(f"quadratic: Q = {quadratic.quadratic:.3e} +- {quadratic.quadratic_error:.1e}")
    assert abs(quadratic.quadratic - q) < 3 * quadratic.quadratic_error
    # Its period is that at its epoch (cycle c of the truth): P + 2 q c.
    c = round((quadratic.epoch - E0) / P)
    assert abs(quadratic.period - (P + 2 * q * c)) < 3 * quadratic.period_error
    linear = fit_ephemeris(times, errors, kinds)  # no period given: found from the timings
    assert abs(linear.period - P) < 1e-5
    assert linear.chi2_dof > 3 * quadratic.chi2_dof  # the parabola is needed


@pytest.mark.serial
def test_timing_a_5000_point_archive_takes_under_a_second():
    frame = _nights(np.random.default_rng(6), 40, 400, length=(0.3, 0.42))
    frame = frame.iloc[:5000]
    curve = LightCurve(frame)
    curve.minima()  # imports and caches
    elapsed = []
    for _ in range(3):
        start = time.perf_counter()
        timings = curve.minima()
        elapsed.append(time.perf_counter() - start)
    print(f"{len(frame)} points, {len(timings)} minima: {np.median(elapsed) * 1e3:.0f} ms")
    assert np.median(elapsed) < 1.0


def test_the_minima_table_exports_in_the_columns_minima_databases_take():
    frame = _nights(np.random.default_rng(3), 30, 300)
    timings = LightCurve(frame).minima(E0, P)
    text = timings.to_csv()
    lines = text.splitlines()
    assert lines[0].startswith("# ?: ephemeris 2459525.30000 + 0.9360000 * E")
    assert lines[1] == "time,error_d,time_scale,type,filter,method,observer,night,n,cycle,o_c_d"
    first = lines[2].split(",")
    assert first[2] == "HJD" and first[3] in ("primary", "secondary")
    assert first[5] in ("kwee-van-woerden", "symmetric-polynomial")
    assert "kwee-van-woerden" in timings.table["method"].tolist()
    assert len(lines) == 2 + len(timings)
    assert timings.to_txt().splitlines()[1].split() == lines[1].split(",")


def test_a_curve_without_a_covered_minimum_gives_an_empty_table_not_an_error():
    t = E0 + 0.3 + np.arange(0, 0.1, 0.002)  # out of eclipse
    frame = pd.DataFrame({"hjd": t, "magnitude": eclipsing_magnitude(t, **GK_CEP_MODEL)})
    timings = LightCurve(frame).minima()
    assert len(timings) == 0
    assert list(timings.table.columns)[:2] == ["time", "error_d"]


# --- the demo archive ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reader(demo_catalogue):
    with demo_catalogue.connect("reader", autocommit=True) as conn:
        yield conn


def _demo_truth(demo_files, field_name):
    _, manifest = demo_files
    field = manifest.field(field_name)
    variability = manifest.star(field.target_catalog_id).variability
    return field, variability["epoch_hjd"], variability["period_d"]


def _predicted_bjd(data, epoch_hjd, period, cycles):
    """The generator's ephemeris (HJD of the field centre) moved to each row's BJD_TDB."""
    offset = (data["bjd_tdb"] - data["hjd"]).to_numpy()
    hjd = data["hjd"].to_numpy()
    predicted_hjd = epoch_hjd + period * np.asarray(cycles, dtype=float)
    return predicted_hjd + np.interp(predicted_hjd, hjd, offset)


@pytest.mark.parametrize("demo_catalogue", ["embedded"], indirect=True)
def test_demo_light_curves_carry_bjd_tdb_at_the_observers_sites(reader, demo_files):
    """BJD_TDB in the archive's light curve: astropy's, for the star, at each demo site."""
    from astropy import units as u
    from astropy.coordinates import EarthLocation, SkyCoord
    from astropy.time import Time
    from astropy.utils import iers

    _, manifest = demo_files
    field = manifest.field("gk_cep")
    star = manifest.star(field.target_catalog_id)
    curve = differential_photometry(
        reader, f"UCAC4:{field.target_catalog_id}", f"UCAC4:{field.comparison_catalog_id}"
    )
    data = curve.data
    assert data["bjd_at_site"].all()
    worst = 0.0
    with iers.conf.set_temp("auto_download", False), iers.conf.set_temp("auto_max_age", None):
        for username, rows in data.groupby("observer"):
            o = manifest.observer(username)
            site = EarthLocation.from_geodetic(
                o.longitude_deg * u.deg, o.latitude_deg * u.deg, o.elevation_m * u.m
            )
            times = Time(rows["jd"].to_numpy(), format="jd", scale="utc", location=site)
            target = SkyCoord(star.ra_deg * u.deg, star.dec_deg * u.deg)
            bjd = (times.tdb + times.light_travel_time(target, ephemeris="builtin")).jd
            worst = max(worst, float(np.abs(rows["bjd_tdb"].to_numpy() - bjd).max() * 86400))
    print(f"{len(data)} rows: BJD_TDB within {worst * 1e6:.0f} microseconds of astropy's")
    assert worst < 1e-3
    # Against the header's HJD (UTC, field centre): TDB - UTC (69.2 s) plus the barycentre's
    # and the target's few seconds.
    offset = (data["bjd_tdb"] - data["hjd"]).to_numpy() * 86400
    assert np.all(np.abs(offset - 69.184) < 10)


@pytest.fixture(scope="module")
def campaign(campaign_catalogue):
    catalogue, manifest = campaign_catalogue
    with catalogue.connect("reader", autocommit=True) as conn:
        yield conn, manifest


def _campaign_curve(conn, manifest, field_name):
    field = manifest.field(field_name)
    truth = manifest.star(field.target_catalog_id).variability
    curve = differential_photometry(
        conn, f"UCAC4:{field.target_catalog_id}", f"UCAC4:{field.comparison_catalog_id}"
    )
    return curve, truth["epoch_hjd"], truth["period_d"]


def _to_hjd(data, bjd):
    """Timings moved from BJD_TDB back to the generator's HJD (field centre, UTC), by the
    rows' own difference of the two, interpolated."""
    data = data.sort_values("bjd_tdb")
    return bjd - np.interp(bjd, data["bjd_tdb"], data["bjd_tdb"] - data["hjd"])


def test_campaign_every_night_covering_a_gk_cep_minimum_gives_one_on_a_flat_o_c(campaign):
    conn, manifest = campaign
    curve, epoch, period = _campaign_curve(conn, manifest, "gk_cep")
    data = curve.data
    timings = curve.o_c()
    table, eph = timings.table, timings.ephemeris
    print(f"GK Cep: {len(data)} points, {len(table)} minima; fitted {eph}")
    covered = set()
    for (night, observer), group in data.groupby(["night", "observer"]):
        t = group["hjd"].to_numpy()
        first = np.floor((t.min() - epoch) / period * 2) - 1
        for cycle in np.arange(first, np.ceil((t.max() - epoch) / period * 2) + 2) / 2:
            centre = epoch + cycle * period
            reach = 1.1 * HALF_DEPTH_HALF_WIDTH
            if t.min() <= centre - reach and t.max() >= centre + reach:
                covered.add((night, observer, float(cycle)))
    hjd = _to_hjd(data, table["time"].to_numpy())
    cycles = np.round((hjd - epoch) / period * 2) / 2
    found = set(zip(table["night"], table["observer"], cycles.astype(float), strict=True))
    print(f"{len(covered)} covered: {sorted(covered)}")
    assert len(covered) >= 4 and covered <= found
    o_c = hjd - (epoch + cycles * period)
    z = o_c / table["error_d"]
    print(f"O-C against the generator's ephemeris (s): {np.round(o_c * 86400).tolist()}")
    assert np.mean(np.abs(z) <= 3) >= 0.9 and float(np.mean(z**2)) < 4
    assert list(table["type"]) == ["secondary" if c % 1 else "primary" for c in cycles]
    # Three autumns, about 840 cycles between the first and the last minimum.
    print(f"fitted period {eph.period:.8f} +- {eph.period_error:.8f}, true {period}")
    assert abs(eph.period - period) < 3 * eph.period_error
    assert abs(eph.period - period) < 1e-6


def test_campaign_rr_lyrae_maxima_follow_the_generators_ephemeris(campaign):
    conn, manifest = campaign
    curve, epoch, period = _campaign_curve(conn, manifest, "demo_rr1")
    data = curve.data
    table = curve.maxima().table
    print(f"RR1: {len(data)} points, {len(table)} maxima")
    assert len(table) >= 2
    hjd = _to_hjd(data, table["time"].to_numpy())
    cycles = np.round((hjd - epoch) / period)
    o_c = hjd - (epoch + cycles * period)
    print(f"maxima O-C against the generator's ephemeris (s): {np.round(o_c * 86400).tolist()}")
    # Flat: about their weighted mean, within the errors. The mean itself is the polynomial's
    # offset on an asymmetric top (a few minutes late at 0.03 mag of noise), the same every
    # night, so it moves the epoch of an O-C diagram and not its period.
    weights = 1 / table["error_d"] ** 2
    offset = float(np.sum(o_c * weights) / np.sum(weights))
    print(f"mean offset {offset * 1440:.1f} min")
    assert np.all(np.abs(o_c - offset) <= 3 * table["error_d"])
    assert abs(offset) < 15 / 1440


@pytest.mark.parametrize("demo_catalogue", ["embedded"], indirect=True)
def test_demo_minima_agree_with_the_generators_ephemeris(reader, demo_files):
    """The demo's 300 images come 5.5 to a session: few nights cover a minimum; any found
    must sit on the generator's ephemeris (moved from the field centre's HJD to BJD_TDB)."""
    _, manifest = demo_files
    field = manifest.field("gk_cep")
    truth = manifest.star(field.target_catalog_id).variability
    curve = differential_photometry(
        reader, f"UCAC4:{field.target_catalog_id}", f"UCAC4:{field.comparison_catalog_id}"
    )
    data = curve.data.sort_values("hjd")
    table = curve.minima().table
    print(f"GK Cep: {len(data)} points in {data['night'].nunique()} nights, {len(table)} minima")
    if len(table):
        offset = np.interp(table["time"], data["bjd_tdb"], data["bjd_tdb"] - data["hjd"])
        hjd = table["time"] - offset
        cycles = np.round((hjd - truth["epoch_hjd"]) / truth["period_d"] * 2) / 2
        o_c = hjd - (truth["epoch_hjd"] + cycles * truth["period_d"])
        assert np.all(np.abs(o_c) <= 3 * table["error_d"])
