"""Light curve conversions and downloads: CSV, TXT, AAVSO Extended, astropy, binning."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import astropy.units as u
import numpy as np
import pandas as pd
import pytest
from astropy.coordinates import SkyCoord

from aphos_lib.lightcurve import AAVSO_FILTERS, LightCurve
from aphos_lib.photometry import differential_photometry

pytestmark = pytest.mark.catalogue
GK_CEP, GK_CMP, GK_CHECK = "UCAC4:805-031770", "UCAC4:803-032417", "UCAC4:804-031083"


@pytest.fixture
def curve(demo_catalogue):
    with demo_catalogue.connect("reader", autocommit=True) as conn:
        return differential_photometry(conn, GK_CEP, GK_CMP, check=GK_CHECK)


def test_csv_is_the_original_download_plus_jd_and_hjd(curve):
    text = curve.to_csv(metadata=True)
    lines = text.splitlines()
    header = lines.index("Exposure middle;Magnitude;Deviation;JD;HJD;BJD_TDB")
    meta = dict(line.split(";", 1) for line in lines[:header])
    assert meta["Catalog ID"] == "UCAC4 805-031770"
    assert meta["Reference catalog ID"] == "UCAC4 803-032417"
    assert meta["Catalog Magnitude"] == "8.42" and meta["Reference catalog Magnitude"] == "8.69"
    position = SkyCoord(meta["Catalog Right Ascension"], meta["Catalog Declination"])
    assert position.separation(SkyCoord(322.746458333, 70.823216667, unit="deg")).arcsec < 0.01
    assert meta["As of"] == "not pinned" and meta["Variable aperture"] == "auto"
    table = pd.read_csv(io.StringIO(text), sep=";", skiprows=header)
    assert len(table) == np.isfinite(curve.data.magnitude).sum() == len(curve)
    np.testing.assert_allclose(table.Magnitude, curve.data.magnitude, atol=5e-5)
    np.testing.assert_allclose(table.JD, curve.data.jd, atol=5e-7)
    np.testing.assert_allclose(table.HJD, curve.data.hjd, atol=5e-7)
    np.testing.assert_allclose(table.BJD_TDB, curve.data.bjd_tdb, atol=5e-7)
    assert meta["Bjd tdb"].startswith("for the variable's position: at the observer's site")
    known = np.isfinite(curve.data.deviation).to_numpy()
    assert table.Deviation.isna().to_numpy().tolist() == (~known).tolist()  # never 0
    middles = pd.to_datetime(table["Exposure middle"]).dt.tz_localize("UTC")
    assert (abs(middles - curve.data.time_utc) < pd.Timedelta(seconds=1)).all()
    assert curve.to_csv().splitlines()[0] == "Exposure middle;Magnitude;Deviation;JD;HJD;BJD_TDB"


def test_txt_is_space_separated_with_the_same_rows(curve, tmp_path):
    path = tmp_path / "gk.txt"
    curve.to_txt(path, metadata=True)
    lines = path.read_text().splitlines()
    header = lines.index('"Exposure middle" Magnitude Deviation JD HJD BJD_TDB')
    table = pd.read_csv(path, sep=" ", skiprows=header)
    assert len(table) == len(curve)
    np.testing.assert_allclose(table.Magnitude, curve.data.magnitude, atol=5e-5)


def test_aavso_extended_format_follows_the_rules(curve):
    with pytest.raises(ValueError, match="one observer"):
        curve.to_aavso(obscode="XYZ")
    text = curve.to_aavso(obscode="XYZ", observer="svoboda")
    lines = text.splitlines()
    params = dict(line[1:].split("=", 1) for line in lines if "=" in line and line[0] == "#")
    assert {k.upper() for k in params} >= {
        "TYPE",
        "OBSCODE",
        "SOFTWARE",
        "DELIM",
        "DATE",
        "OBSTYPE",
    }
    assert params["TYPE"] == "EXTENDED" and params["DATE"] == "HJD"
    data = [line.split(",") for line in lines if not line.startswith("#")]
    assert len(data) == (curve.data.observer == "svoboda").sum() > 10
    svoboda = curve.data[curve.data.observer == "svoboda"]
    for fields, row in zip(data, svoboda.itertuples(), strict=True):
        assert len(fields) == 15
        name, date, mag, merr, filt, trans, mtype, cname, cmag, kname = fields[:10]
        assert name == "GK Cep" and len(date) <= 16 and float(date) == round(row.hjd, 5)
        assert "." in mag and len(mag) <= 8 and float(mag) == round(row.magnitude, 3)
        assert merr == "na" or (len(merr) <= 6 and float(merr) == round(row.deviation, 3))
        assert filt in AAVSO_FILTERS and trans == "NO" and mtype == "DIF"
        assert cname == "UCAC4 803-032417" and kname == "UCAC4 804-031083"
        assert float(cmag) == pytest.approx(-2.5 * np.log10(row.cmp_flux), abs=5e-4)
    with pytest.raises(ValueError, match="AAVSO filter"):
        curve.to_aavso(obscode="XYZ", observer="svoboda", filter="Halpha-ish")


def test_astropy_table_and_timeseries_carry_units_and_metadata(curve):
    table = curve.to_table()
    assert table["magnitude"].unit == u.mag and table["jd"].unit == u.day
    assert "GK Cep" in table.meta["variable"]
    series = curve.to_timeseries()
    np.testing.assert_allclose(series.time.jd, curve.data.jd, rtol=0, atol=1e-9)
    assert series.time.scale == "utc" and len(series) == len(curve)


def test_binning_per_night_is_the_weighted_mean(curve):
    binned = curve.bin("night")
    assert isinstance(binned, LightCurve) and binned.variable == curve.variable
    assert binned.meta["binned"] == {"width": "night", "time": "hjd"}
    usable = curve.data[np.isfinite(curve.data.magnitude)]
    groups = usable.groupby([usable.night.astype(str), usable.observer])
    assert len(binned) == groups.ngroups and binned.data.n.sum() == len(usable)
    first = usable[
        (usable.night == usable.night.iloc[0]) & (usable.observer == usable.observer.iloc[0])
    ]
    row = binned.data.iloc[(binned.data.hjd - first.hjd.mean()).abs().argmin()]
    m, s = first.magnitude.to_numpy(), first.deviation.to_numpy()
    if np.all(np.isfinite(s)):
        expected = np.sum(m / s**2) / np.sum(1 / s**2)
    else:
        expected = m.mean()
    assert row.magnitude == pytest.approx(expected, abs=1e-12) and row.n == len(first)
    assert row.night == first.night.iloc[0] and row.observer == first.observer.iloc[0]
    assert row.jd == pytest.approx(first.jd.mean(), abs=1e-9)


def _cli(catalogue, *args) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APHOS_")}
    env.update(
        APHOS_DATABASE_URL=catalogue.conninfo("owner"),
        APHOS_DATABASE_URL_WRITER=catalogue.conninfo("writer"),
        APHOS_DATABASE_URL_READER=catalogue.conninfo("reader"),
    )
    return subprocess.run(
        [sys.executable, "-m", "aphos_lib.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_search_and_lightcurve_print_json_lines(demo_catalogue, curve):
    found = _cli(
        demo_catalogue,
        "search",
        "--ra",
        "21 30 59.15",
        "--dec",
        "+70 49 23.58",
        "--radius",
        "3arcmin",
        "--json",
    )
    assert found.returncode == 0, found.stderr
    records = [json.loads(line) for line in found.stdout.splitlines()]
    assert records[0]["catalog_id"] == "805-031770" and records[0]["name"] == "GK Cep"
    assert set(records[0]) >= {
        "catalog",
        "catalog_id",
        "name",
        "ra_deg",
        "dec_deg",
        "mag",
        "n_fluxes",
    }
    assert records[0]["n_fluxes"] == 142
    lc = _cli(demo_catalogue, "lightcurve", GK_CEP, GK_CMP, "--format", "json")
    assert lc.returncode == 0, lc.stderr
    rows = [json.loads(line) for line in lc.stdout.splitlines()]
    assert len(rows) == len(curve)
    assert set(rows[0]) == {
        "time_utc",
        "jd",
        "hjd",
        "bjd_tdb",
        "night",
        "observer",
        "magnitude",
        "deviation",
        "saturated",
    }
    np.testing.assert_allclose([r["magnitude"] for r in rows], curve.data.magnitude)
    np.testing.assert_allclose([r["bjd_tdb"] for r in rows], curve.data.bjd_tdb, rtol=0, atol=1e-9)
    missing = _cli(demo_catalogue, "lightcurve", GK_CEP, "UCAC4:000-000000")
    assert missing.returncode == 1 and "no object UCAC4:000-000000" in missing.stderr
    assert "Traceback" not in missing.stderr
