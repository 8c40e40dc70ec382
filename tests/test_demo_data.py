"""The demo data generator: SIPS files in the fixtures' format, with known variables.

No database: these tests read the generated files as text, compare their format with the
published SIPS export, and check the photometry against the manifest's models.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections import Counter, defaultdict
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import Angle, EarthLocation, SkyCoord
from astropy.time import Time

from aphos_lib.demo import DemoManifest, generate_demo_data
from aphos_lib.demo.build_field_data import DATA_FILE, build_gk_cep_field
from aphos_lib.demo.generator import POSITION_JITTER_ARCSEC
from aphos_lib.demo.observers import CAMERAS, OBSERVERS
from aphos_lib.demo.schedule import plan_sessions
from aphos_lib.demo.sips_writer import format_center_dec, format_dec, format_ra
from aphos_lib.demo.sky import FAINT_LIMIT_MAG, FIELD_RADIUS_DEG, field_stars, ucac4_zone
from aphos_lib.demo.variables import eclipsing_magnitude, phase, rrab_magnitude
from aphos_lib.io.sips import read_sips

from conftest import fixture_path

IMAGES = 80
FLUX = re.compile(r"^(-?\d+\.\d{3}|saturated)$")


def _read(path: Path, encoding: str, newline: str):
    """Header pairs, table columns and rows of a SIPS file as written."""
    text = path.read_bytes().decode(encoding)
    lines = text.split(newline)
    assert lines[-1] == "", "the last line must end with the line ending too"
    lines = lines[:-1]
    start = next(i for i, line in enumerate(lines) if line.startswith("Name;"))
    header = [tuple(line.split(";", 1)) for line in lines[:start]]
    columns = lines[start].split(";")
    rows = [line.split(";") for line in lines[start + 1 :]]
    return header, columns, rows


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, DemoManifest]:
    out = tmp_path_factory.mktemp("demo")
    return out, generate_demo_data(out, seed=1, images=IMAGES)


@pytest.fixture(scope="module")
def tables(demo):
    out, manifest = demo
    result = {}
    for info in manifest.files:
        observer = manifest.observer(info.observer)
        result[info.path] = _read(out / info.path, observer.encoding, observer.newline)
    return result


@pytest.fixture(scope="module")
def reference():
    """Header keys and table columns of the published SIPS export."""
    header, columns, _ = _read(fixture_path("correct_file.csv"), "iso-8859-1", "\r\n")
    return [key for key, _ in header], columns, dict(header)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate_demo_data(a, seed=7, images=12)
    generate_demo_data(b, seed=7, images=12)
    generate_demo_data(c, seed=8, images=12)
    assert _tree(a) == _tree(b)
    assert len(_tree(a)) == 13  # 12 files and the manifest
    differs = set(_tree(a).items()) ^ set(_tree(c).items())
    assert differs


@pytest.mark.skipif(not hasattr(time, "tzset"), reason="time.tzset is POSIX only")
def test_output_does_not_depend_on_the_time_zone(tmp_path, monkeypatch):
    generate_demo_data(tmp_path / "utc", seed=3, images=4)
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")
    time.tzset()
    try:
        generate_demo_data(tmp_path / "far", seed=3, images=4)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert _tree(tmp_path / "utc") == _tree(tmp_path / "far")


def test_one_file_per_image_and_the_manifest_round_trips(demo):
    out, manifest = demo
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.csv"))
    assert len(files) == IMAGES == len(manifest.files)
    assert files == sorted(f.path for f in manifest.files)
    assert DemoManifest.load(out) == manifest
    for info in manifest.files:
        username, name = info.path.split("/")
        assert username == info.observer
        stamp = info.exposure_begin[:19].replace("-", "").replace(":", "")
        assert name == f"{info.field}_{stamp}.csv"


def test_a_second_run_replaces_the_first(tmp_path):
    generate_demo_data(tmp_path, seed=1, images=6)
    manifest = generate_demo_data(tmp_path, seed=2, images=3)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.csv")) == sorted(
        f.path for f in manifest.files
    )


def test_observers_differ_as_the_ingest_must_expect(demo):
    _, manifest = demo
    observers = manifest.observers
    assert 4 <= len(observers) <= 5
    assert Counter(o.apertures for o in observers) == Counter({10: 3, 12: 1, 6: 1})
    assert sum(o.exports_deviations for o in observers) == 2
    assert [o.header for o in observers].count("short") == 1
    assert [(o.encoding, o.newline) for o in observers].count(("utf-8", "\n")) == 1
    assert {(o.encoding, o.newline) for o in observers} == {("utf-8", "\n"), ("iso-8859-1", "\r\n")}
    assert {f.observer for f in manifest.files} == {o.username for o in observers}


def test_headers_and_columns_follow_the_fixture_format(demo, tables, reference):
    _, manifest = demo
    keys, columns, values = reference
    for info in manifest.files:
        observer = manifest.observer(info.observer)
        header, table_columns, rows = tables[info.path]
        assert header[0][0] == "ExposureBegin"
        if observer.header == "full":
            assert [k for k, _ in header] == keys
            assert dict(header)["Filter"] == values["Filter"] == "V       "
            assert dict(header)["Software"] == values["Software"]
            assert dict(header)["Width"] == "768" and dict(header)["Depth"] == "512"
        else:
            assert [k for k, _ in header] == ["ExposureBegin", "ExposureEnd"]
        apertures = ["ApAuto"] + [f"Ap{k}" for k in range(1, observer.apertures + 1)]
        if observer.exports_deviations:
            apertures = [c for ap in apertures for c in (ap, f"{ap}Dev")]
        assert table_columns == columns[: columns.index("ApAuto")] + apertures
        assert len(rows) == info.rows
        assert all(len(row) == len(table_columns) for row in rows)


def test_header_values_are_formatted_like_the_fixture(demo, tables, reference):
    _, manifest = demo
    _, _, values = reference
    patterns = {key: re.sub(r"\d", r"\\d", re.escape(v)) for key, v in values.items()}
    for key in ("ExposureTime", "CenterRAHour", "CenterRADeg", "PixelScaleX", "PixelScaleY"):
        patterns[key] = r"\d+\.\d{8}"
    for key in ("Object", "Instrument", "Telescope", "Observer"):
        patterns[key] = r".*"
    for info in manifest.files:
        for key, value in tables[info.path][0]:
            assert re.fullmatch(patterns[key], value), (info.path, key, value)


def test_encodings_and_line_endings_are_as_declared(demo):
    out, manifest = demo
    for info in manifest.files:
        observer = manifest.observer(info.observer)
        data = (out / info.path).read_bytes()
        assert data.startswith(b"ExposureBegin;")
        if observer.newline == "\r\n":
            assert data.count(b"\r\n") == data.count(b"\n") == data.count(b"\r")
        else:
            assert b"\r" not in data
        text = data.decode(observer.encoding)
        if observer.header == "full":
            degree = "\N{DEGREE SIGN}".encode(observer.encoding)
            assert degree in data and "\N{DEGREE SIGN}" in text
        if observer.encoding == "utf-8" and observer.observer_name:
            assert observer.observer_name.encode("utf-8") in data


def test_header_times_agree_with_each_other(demo, tables):
    _, manifest = demo
    for info in manifest.files:
        header = dict(tables[info.path][0])
        assert header["ExposureBegin"] == info.exposure_begin
        assert header["ExposureEnd"] == info.exposure_end
        if "GJD" not in header:
            continue
        begin, middle, end = Time(
            [header["ExposureBegin"], header["Exposure"], header["ExposureEnd"]],
            format="isot",
            scale="utc",
        )
        assert abs((end - begin).sec - float(header["ExposureTime"])) < 0.01
        assert abs((middle - begin).sec - (end - begin).sec / 2) < 0.001
        assert abs(begin.jd - float(header["JDBegin"])) < 1e-8
        assert abs(end.jd - float(header["JDEnd"])) < 1e-8
        assert abs(middle.jd - float(header["GJD"])) < 1e-8
        assert float(header["GJD"]) == info.gjd and float(header["HJD"]) == info.hjd
        assert 30 <= float(header["ExposureTime"]) <= 120


def test_hjd_is_astropys_heliocentric_correction_for_the_field_centre(demo):
    _, manifest = demo
    by_group = defaultdict(list)
    for info in manifest.files:
        by_group[(info.observer, info.field)].append(info)
    for (username, name), infos in by_group.items():
        observer, field = manifest.observer(username), manifest.field(name)
        site = EarthLocation.from_geodetic(
            observer.longitude_deg * u.deg,
            observer.latitude_deg * u.deg,
            observer.elevation_m * u.m,
        )
        gjd = Time([i.gjd for i in infos], format="jd", scale="utc", location=site)
        centre = SkyCoord(field.centre_ra_deg * u.deg, field.centre_dec_deg * u.deg)
        expected = gjd.jd + gjd.light_travel_time(centre, kind="heliocentric").to_value(u.day)
        assert np.max(np.abs(expected - np.array([i.hjd for i in infos]))) < 1e-6


def test_the_centre_in_the_header_is_where_the_stars_are(demo, tables):
    _, manifest = demo
    for info in manifest.files:
        header = dict(tables[info.path][0])
        if "CenterDec" not in header:
            continue
        assert header["CenterDec"] == format_center_dec(info.center_dec_deg)
        centre = SkyCoord(
            float(header["CenterRADeg"]) * u.deg, float(header["CenterDecDeg"]) * u.deg
        )
        field = manifest.field(info.field)
        target = SkyCoord(field.centre_ra_deg * u.deg, field.centre_dec_deg * u.deg)
        assert centre.separation(target).deg < 0.8


def test_positions_parse_back_to_the_catalogue_within_the_jitter(demo, tables):
    _, manifest = demo
    stars = {s.catalog_id: s for s in manifest.stars}
    limit = 1.0 + 3 * POSITION_JITTER_ARCSEC * np.sqrt(2)  # jitter is cut at 3 sigma per axis
    for info in manifest.files[::7]:
        _, columns, rows = tables[info.path]
        col = {name: i for i, name in enumerate(columns)}
        ra = Angle([r[col["RA"]] for r in rows], unit=u.hourangle)
        dec = Angle([r[col["Dec"]] for r in rows], unit=u.deg)
        assert np.all(np.isfinite(ra.deg)) and np.all(np.abs(dec.deg) <= 90)
        matched = [i for i, r in enumerate(rows) if r[col["CatalogId"]]]
        ids = [rows[i][col["CatalogId"]] for i in matched]
        truth = SkyCoord(
            [stars[c].ra_deg for c in ids] * u.deg, [stars[c].dec_deg for c in ids] * u.deg
        )
        measured = SkyCoord(ra[matched], dec[matched])
        assert np.max(measured.separation(truth).arcsec) < limit
        catalogue = SkyCoord(
            Angle([rows[i][col["CatalogRA"]] for i in matched], unit=u.hourangle),
            Angle([rows[i][col["CatalogDec"]] for i in matched], unit=u.deg),
        )
        assert np.max(catalogue.separation(truth).arcsec) < 0.02
        for i, cid in zip(matched, ids, strict=True):
            star = stars[cid]
            assert star.field == info.field
            assert rows[i][col["Name"]] == (star.name or "")
            assert float(rows[i][col["CatalogMag"]]) == star.catalog_mag


def test_sexagesimal_formatting_carries_instead_of_writing_60():
    almost = 21.5 * 15 + (59.99996 / 240.0)  # 21 30 59.99996 in degrees
    assert format_ra([almost]) == ["21 31 00.000"]
    assert format_dec([70 + 49 / 60 + 59.9996 / 3600]) == ["+70 50 00.00"]
    assert format_dec([-(0.5 / 3600 / 100)]) == ["+00 00 00.00"]
    rng = np.random.default_rng(0)
    for text in format_ra(rng.uniform(0, 360, 20000)) + format_dec(rng.uniform(-90, 90, 20000)):
        _, minutes, seconds = text.split()
        assert int(minutes) < 60 and float(seconds) < 60


def test_rows_are_sorted_by_adu_and_fluxes_formatted_like_sips(demo, tables):
    _, manifest = demo
    for info in manifest.files:
        _, columns, rows = tables[info.path]
        col = {name: i for i, name in enumerate(columns)}
        adu = [int(r[col["ADU"]]) for r in rows]
        assert adu == sorted(adu, reverse=True)
        first = col["ApAuto"]
        assert all(FLUX.match(v) for r in rows for v in r[first:])
        for r in rows:
            for name, decimals in (("X", 2), ("Y", 2), ("Back", 3), ("BackDev", 3)):
                assert re.fullmatch(rf"\d+\.\d{{{decimals}}}", r[col[name]])
            assert 0 <= float(r[col["X"]]) <= 767 and 0 <= float(r[col["Y"]]) <= 511
        assert 100 <= len(rows) <= 350


def test_deviation_columns_agree_with_the_fluxes(demo, tables):
    _, manifest = demo
    for info in manifest.files:
        if not manifest.observer(info.observer).exports_deviations:
            continue
        _, columns, rows = tables[info.path]
        for k, name in enumerate(columns):
            if not name.startswith("Ap") or name.endswith("Dev"):
                continue
            assert columns[k + 1] == f"{name}Dev"
            for r in rows:
                if r[k] == "saturated":
                    assert r[k + 1] == "saturated"
                else:
                    flux, dev = float(r[k]), float(r[k + 1])
                    # Poisson noise of the star alone is the least a deviation can be.
                    assert dev > 0 and dev**2 >= max(flux, 0) / 3.0 - 1e-6


def test_saturated_apertures_unmatched_rows_and_missing_colours_occur(demo, tables):
    _, manifest = demo
    saturated_rows = partly = unmatched = rows_total = no_bv = 0
    for info in manifest.files:
        _, columns, rows = tables[info.path]
        col = {name: i for i, name in enumerate(columns)}
        fluxes = [i for i, c in enumerate(columns) if c.startswith("Ap") and not c.endswith("Dev")]
        for r in rows:
            sat = [r[i] == "saturated" for i in fluxes]
            saturated_rows += any(sat)
            partly += any(sat) and not all(sat)
            rows_total += 1
            if r[col["Catalog"]] == "":
                unmatched += 1
                assert r[col["RA"]] and r[col["Dec"]]
                assert all(r[col[c]] == "" for c in columns[col["Catalog"] : col["CatalogJK"] + 1])
            elif r[col["CatalogBV"]] == "":
                no_bv += 1
    assert saturated_rows > IMAGES and partly > 0 and no_bv > 0
    assert 0.04 < unmatched / rows_total < 0.11


def test_bright_stars_saturate_in_most_images(demo, tables):
    _, manifest = demo
    counts = defaultdict(lambda: [0, 0])
    for info in manifest.files:
        _, columns, rows = tables[info.path]
        col = {name: i for i, name in enumerate(columns)}
        for r in rows:
            cid = r[col["CatalogId"]]
            if cid and manifest.star(cid).catalog_mag < 6.3:
                counts[cid][0] += 1
                counts[cid][1] += r[col["ApAuto"]] == "saturated"
    for field in manifest.fields:
        assert any(manifest.star(cid).field == field.name for cid in counts)
    assert all(sat > seen / 2 for seen, sat in counts.values())


def test_not_every_star_is_in_every_image(demo, tables):
    _, manifest = demo
    seen = Counter()
    for info in manifest.files:
        _, columns, rows = tables[info.path]
        seen.update((info.field, r[columns.index("CatalogId")]) for r in rows)
    per_field = Counter(info.field for info in manifest.files)
    for star in manifest.stars:
        if star.catalog_id == manifest.field(star.field).target_catalog_id:
            assert seen[(star.field, star.catalog_id)] == per_field[star.field]
    faint = [s for s in manifest.stars if s.catalog_mag > 11.5]
    assert any(seen[(s.field, s.catalog_id)] < per_field[s.field] for s in faint)


def test_eclipsing_model_is_deepest_at_phase_zero(demo):
    _, manifest = demo
    gk = manifest.star(manifest.field("gk_cep").target_catalog_id)
    assert gk.name == "GK Cep" and gk.kind == "eclipsing"
    params = gk.variability
    assert params["period_d"] == 0.936
    t = params["epoch_hjd"] + params["period_d"] * np.linspace(0.0, 1.0, 10001)
    mag = manifest.model_magnitude(gk.catalog_id, t)
    assert np.argmax(mag) in (0, t.size - 1)
    ph = phase(t, params["period_d"], params["epoch_hjd"])
    secondary = mag[np.abs(ph - 0.5) < 0.05].max()
    assert mag.max() - mag.min() == pytest.approx(0.30, abs=0.01)
    assert secondary - mag.min() == pytest.approx(0.20, abs=0.01)
    assert np.array_equal(
        mag, eclipsing_magnitude(t, **{k: v for k, v in params.items() if k != "model"})
    )


def test_rrab_model_has_a_steep_rise_and_a_slow_decline():
    t = np.linspace(0.0, 1.0, 10001)
    mag = rrab_magnitude(t, mag_max=10.15, amplitude=0.8, period_d=1.0, epoch_hjd=0.0)
    assert np.argmin(mag) in (0, t.size - 1)
    assert np.ptp(mag) == pytest.approx(0.8)
    faintest = t[np.argmax(mag)]
    assert 0.7 < faintest < 0.9  # rising to maximum takes 10-30 % of the cycle


def test_variables_have_their_light_curves_in_the_files(demo, tables):
    """Target minus comparison in ApAuto reproduces the model within the noise."""
    _, manifest = demo
    residuals = defaultdict(list)
    chi = []
    for info in manifest.files:
        field = manifest.field(info.field)
        _, columns, rows = tables[info.path]
        col = {name: i for i, name in enumerate(columns)}
        by_id = {r[col["CatalogId"]]: r for r in rows}
        var, cmp_ = by_id[field.target_catalog_id], by_id[field.comparison_catalog_id]
        assert "saturated" not in (var[col["ApAuto"]], cmp_[col["ApAuto"]])
        measured = -2.5 * np.log10(float(var[col["ApAuto"]]) / float(cmp_[col["ApAuto"]]))
        term = info.colour_term
        model = (
            manifest.measured_magnitude(field.target_catalog_id, info.hjd, term)[0]
            - manifest.measured_magnitude(field.comparison_catalog_id, info.hjd, term)[0]
        )
        residuals[info.field].append(measured - model)
        if "ApAutoDev" in col:
            rel = [float(r[col["ApAutoDev"]]) / float(r[col["ApAuto"]]) for r in (var, cmp_)]
            chi.append((measured - model) / (2.5 / np.log(10) * np.hypot(*rel)))
    gk = np.array(residuals["gk_cep"])
    assert gk.size >= 20
    assert abs(np.mean(gk)) < 0.006 and np.std(gk) < 0.03 and np.max(np.abs(gk)) < 0.1
    for values in residuals.values():
        assert abs(np.median(values)) < 0.02
    chi = np.array(chi)
    assert chi.size >= 10
    assert abs(np.mean(chi)) < 0.6 and 0.6 < np.std(chi) < 1.5 and np.max(np.abs(chi)) < 5


def test_a_season_covers_the_binarys_phases():
    fields = [info for info, _ in field_stars().values()]
    choices = {(o.username, f.name): (60.0,) for o in OBSERVERS for f in fields}
    minima = {"gk_cep": (2459525.3, 0.936)}
    sessions = plan_sessions(
        np.random.default_rng(1), 300, OBSERVERS, CAMERAS, fields, choices, minima
    )
    assert sum(len(s.exposures) for s in sessions) == 300
    nights = {(s.night) for s in sessions}
    assert 40 <= len(nights) <= 60
    jd = np.array(
        [
            2440587.5 + e.mid_ms / 86_400_000
            for s in sessions
            if s.field == "gk_cep"
            for e in s.exposures
        ]
    )
    ph = phase(jd, 0.936, 2459525.3)
    assert np.all(np.bincount((ph * 10).astype(int), minlength=10) > 0)
    assert np.sum(np.abs(ph - 0.5) < 0.05) >= 3
    assert np.sum((ph < 0.05) | (ph > 0.95)) >= 3
    assert {s.observer for s in sessions} == {o.username for o in OBSERVERS}


def test_catalogue_ids_fit_their_declination_zone_and_fields_are_realistic():
    for name, (info, stars) in field_stars().items():
        ids = [s.catalog_id for s in stars]
        assert len(set(ids)) == len(ids)
        assert all(re.fullmatch(r"\d{3}-\d{6}", i) for i in ids)
        zones = ucac4_zone([s.dec_deg for s in stars])
        assert [int(i[:3]) for i in ids] == zones.tolist(), name
        assert 150 <= len(stars) <= 300
        mags = np.array([s.catalog_mag for s in stars])
        assert (mags < 7.5).sum() >= 1
        assert (mags > 11).sum() > (mags < 9).sum()  # more faint stars than bright
        kinds = Counter(s.kind for s in stars)
        assert kinds["constant"] >= len(stars) - 2
        target = next(s for s in stars if s.catalog_id == info.target_catalog_id)
        assert target.kind != "constant" and target.name


def test_shipped_gk_cep_star_list_is_the_fixtures_stars():
    records = build_gk_cep_field(fixture_path("correct_file.csv"))
    shipped = list(csv.DictReader(io.StringIO(DATA_FILE.read_text("ascii"))))
    assert shipped == records
    assert 250 <= len(records) <= 300
    assert {r["name"] for r in records} == {"", "GK Cep", "EK Cep"}


# --- field_stars: fields filled up to a real SIPS export's thousands of rows ---------------

FIELD_STARS = 2500
CATALOGUE_TEXT = ("CatalogRA", "CatalogDec", "CatalogMag", "CatalogBV", "CatalogJK")


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> tuple[Path, DemoManifest]:
    out = tmp_path_factory.mktemp("filled")
    return out, generate_demo_data(out, seed=1, images=6, field_stars=FIELD_STARS)


def _catalogue_text(out: Path, manifest: DemoManifest) -> dict[str, list[dict[str, str]]]:
    """Each file's rows as {column: value}, keyed by the file's path."""
    result = {}
    for info in manifest.files:
        observer = manifest.observer(info.observer)
        _, columns, rows = _read(out / info.path, observer.encoding, observer.newline)
        result[info.path] = [dict(zip(columns, r, strict=True)) for r in rows]
    return result


def test_the_default_manifest_has_no_field_stars(demo):
    out, manifest = demo
    assert manifest.field_stars is None
    assert "field_stars" not in json.loads((out / "manifest.json").read_bytes())


def test_filled_fields_give_images_of_thousands_of_rows(filled):
    out, manifest = filled
    assert manifest.field_stars == FIELD_STARS
    assert json.loads((out / "manifest.json").read_bytes())["field_stars"] == FIELD_STARS
    assert DemoManifest.load(out) == manifest
    assert len(manifest.files) == 6
    tables = _catalogue_text(out, manifest)
    unmatched = total = 0
    for info in manifest.files:
        rows = tables[info.path]
        # A real SIPS export of one image has 2,671 rows; these lie between 1,500 and 2,800.
        assert 1500 <= info.rows == len(rows) <= 2800, (info.path, info.rows)
        adu = [int(r["ADU"]) for r in rows]
        assert adu == sorted(adu, reverse=True)
        ids = [r["CatalogId"] for r in rows if r["CatalogId"]]
        assert len(ids) == len(set(ids))
        unmatched += len(rows) - len(ids)
        total += len(rows)
    assert 0.04 < unmatched / total < 0.11


def test_filled_fields_keep_their_own_stars_and_add_faint_constant_ones(filled):
    _, manifest = filled
    own = field_stars()
    filled_sky = field_stars(FIELD_STARS)
    assert manifest.stars == tuple(s for _, stars in filled_sky.values() for s in stars)
    assert manifest.fields == tuple(info for info, _ in own.values())
    ids = [s.catalog_id for s in manifest.stars]
    assert len(ids) == len(set(ids)) == 3 * FIELD_STARS
    assert all(re.fullmatch(r"\d{3}-\d{6}", i) for i in ids)
    assert [int(i[:3]) for i in ids] == ucac4_zone([s.dec_deg for s in manifest.stars]).tolist()
    for name, (info, stars) in own.items():
        everything = filled_sky[name][1]
        assert len(everything) == FIELD_STARS
        # The field's own stars, variables and comparison star included, are untouched.
        assert everything[: len(stars)] == stars
        added = everything[len(stars) :]
        assert all(s.kind == "constant" and s.variability is None and s.name is None for s in added)
        mags = np.array([s.catalog_mag for s in added])
        assert mags.min() >= max(s.catalog_mag for s in stars) and mags.max() <= FAINT_LIMIT_MAG
        # Counts grow towards the faint end.
        assert np.all(np.diff(np.histogram(mags, bins=3)[0]) > 0)
        ra, dec = np.array([[s.ra_deg, s.dec_deg] for s in added]).T
        centre = SkyCoord(info.centre_ra_deg * u.deg, info.centre_dec_deg * u.deg)
        sep = SkyCoord(ra * u.deg, dec * u.deg).separation(centre).deg
        assert sep.max() <= FIELD_RADIUS_DEG + 1e-6 and np.median(sep) > 0.9
        assert sum(s.bv is None for s in added) > 0
    # The same stars whatever the generator's seed.
    assert field_stars(FIELD_STARS) == filled_sky


def test_filled_files_show_the_original_stars_with_their_catalogue_values(filled, tmp_path):
    out, manifest = filled
    plain = generate_demo_data(tmp_path, seed=1, images=6)
    before = {
        r["CatalogId"]: tuple(r[c] for c in CATALOGUE_TEXT)
        for rows in _catalogue_text(tmp_path, plain).values()
        for r in rows
        if r["CatalogId"]
    }
    stars = {s.catalog_id: s for s in manifest.stars}
    tables = _catalogue_text(out, manifest)
    seen = set()
    for info in manifest.files:
        field = manifest.field(info.field)
        rows = tables[info.path]
        by_id = {r["CatalogId"]: r for r in rows if r["CatalogId"]}
        assert {field.target_catalog_id, field.comparison_catalog_id} <= set(by_id)
        for cid, r in by_id.items():
            star = stars[cid]
            assert star.field == info.field and r["Name"] == (star.name or "")
            assert r["CatalogRA"] == format_ra([star.ra_deg])[0]
            assert r["CatalogDec"] == format_dec([star.dec_deg])[0]
            assert float(r["CatalogMag"]) == star.catalog_mag
            if cid in before:
                assert tuple(r[c] for c in CATALOGUE_TEXT) == before[cid]
                seen.add(cid)
    assert len(seen) >= 0.9 * len(before)


def test_filled_files_are_byte_identical_for_the_same_seed(filled, tmp_path):
    out, _ = filled
    generate_demo_data(tmp_path, seed=1, images=6, field_stars=FIELD_STARS)
    assert _tree(tmp_path) == _tree(out)


@pytest.mark.parametrize("seed", [1, 5])
def test_filled_files_are_read_whole_by_the_sips_reader(filled, tmp_path, seed):
    # Seed 1: novak (ISO-8859-1, CRLF, no deviations) on a synthetic field; seed 5: kowalski
    # (UTF-8, LF, deviation columns) on the real GK Cep field.
    if seed == 1:
        out, manifest = filled
    else:
        out = tmp_path
        manifest = generate_demo_data(out, seed=seed, images=6, field_stars=FIELD_STARS)
    for info in manifest.files:
        sips = read_sips(out / info.path)
        assert sips.rejected == []
        assert sips.rows.num_rows == info.rows
        assert sips.apertures == manifest.observer(info.observer).apertures


def test_a_timing_campaign_takes_series_of_tens_of_images_over_three_autumns(tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "aphos_lib.cli",
            "demo-data",
            "--campaign",
            "--images",
            "240",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    manifest = DemoManifest.load(tmp_path)
    sessions = {}
    for f in manifest.files:
        sessions.setdefault((f.observer, int(f.gjd)), []).append(f.gjd)
    sizes = [len(v) for v in sessions.values()]
    assert len(manifest.files) == 240 and sum(sizes) / len(sizes) >= 20
    years = {f.exposure_begin[:4] for f in manifest.files}
    assert years >= {"2021", "2023"}
    # An even series: in a session, the gaps between images are alike (no runs and holes).
    gaps = np.diff(sorted(max(sessions.values(), key=len)))
    assert gaps.max() < 1.5 * np.median(gaps)
