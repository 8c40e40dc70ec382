"""``GET /api/v2/minima`` and BJD_TDB in ``/api/v2/lightcurve``: what ``aphos_lib`` computes.

The demo archive's sessions are too short to cover GK Cep's minima, so an archive of crafted
copies of a real export (two nights of an eclipse, made from ``correct_file.csv`` as in
tests/odd_catalogue.py) gives the endpoint minima to time.
"""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Iterator

import numpy as np
import pytest

from aphos_lib import queries
from aphos_lib.ephemeris import EphemerisError
from aphos_lib.ingest import ingest_files
from aphos_lib.photometry import differential_photometry
from aphos_lib.web.deps import _heavy_reader
from aphos_lib.web.models.v2 import Minima

from conftest import fixture_path, http_get, serve_in_thread
from odd_catalogue import CMP, GK_CEP, _shifted

pytestmark = pytest.mark.catalogue
PAIR = {"variable": GK_CEP, "comparison": CMP}
TIMING_FIELDS = {
    "bjd_tdb",
    "error_d",
    "kind",
    "type",
    "method",
    "n",
    "n_before",
    "n_after",
    "observer",
    "night",
    "filter",
    "bjd_at_site",
    "check_time",
    "check_error_d",
    "cycle",
    "o_c_d",
}
# The crafted eclipses: 0.4 mag deep, centred 120 minutes after the export's exposure and a
# period of 1.05 days later (cycle 2), each night covered by an image every 3 minutes (at 6,
# the segments of 15 points leave Kwee-van Woerden too few pairs to reflect).
PERIOD_D, STEP_MIN, DEPTH, SIGMA_MIN = 1.05, 3, 0.4, 25.0
NIGHTS_MIN = (0.0, 2 * PERIOD_D * 1440)
OBSERVER = "eclipser"


def v2(url: str, path: str, **params) -> tuple[int, object]:
    return http_get(f"{url}/api/v2/{path}?" + urllib.parse.urlencode(params, doseq=True))


def expected(curve, epoch=None, period=None, **kw):
    """What the endpoint answers, from the library: O-C, or the timings alone."""
    try:
        return curve.o_c(epoch, period, **kw)
    except EphemerisError:
        return curve.maxima() if kw.get("maxima") else curve.minima()


def assert_same(body: dict, timings) -> None:
    """The endpoint's minima are the library's, field by field."""
    table = timings.table
    assert len(body["minima"]) == len(table)
    for item, record in zip(body["minima"], table.to_dict("records"), strict=True):
        assert set(item) == TIMING_FIELDS
        assert item["bjd_tdb"] == record["time"]
        for key in ("error_d", "check_time", "check_error_d", "cycle", "o_c_d"):
            value = record.get(key, math.nan)
            assert item[key] == (None if math.isnan(value) else value), key
        for key in ("kind", "type", "method", "n", "n_before", "n_after", "observer", "filter"):
            assert item[key] == record[key], key
        assert item["night"] == record["night"].isoformat()
    e = timings.ephemeris
    if e is None:
        assert body["ephemeris"] is None and body["ephemeris_message"]
    else:
        got = body["ephemeris"]
        assert (got["epoch"], got["period"], got["quadratic"], got["n"]) == (
            e.epoch,
            e.period,
            e.quadratic,
            e.n,
        )
        assert got["fitted"] == (e.n > 0) and body["ephemeris_message"] is None
    Minima.model_validate(body, strict=False)


# --- the demo archive ------------------------------------------------------------------------


@pytest.mark.slow
def test_lightcurve_rows_carry_the_librarys_bjd_tdb(api_url, demo_catalogue):
    with demo_catalogue.connect("reader", autocommit=True) as conn:
        curve = differential_photometry(conn, GK_CEP, CMP)
    status, body = v2(api_url, "lightcurve", **PAIR)
    assert status == 200 and len(body["rows"]) == len(curve)
    assert [r["bjd_tdb"] for r in body["rows"]] == curve.data.bjd_tdb.tolist()
    assert [r["bjd_at_site"] for r in body["rows"]] == curve.data.bjd_at_site.tolist()
    assert all(r["bjd_at_site"] for r in body["rows"])  # the demo observers have sites


@pytest.mark.slow
def test_demo_minima_equal_the_librarys_even_when_there_are_none(
    api_url, demo_catalogue, demo_files
):
    _, manifest = demo_files
    truth = manifest.star(GK_CEP.split(":")[1]).variability
    epoch, period = truth["epoch_hjd"], truth["period_d"]
    with demo_catalogue.connect("reader", autocommit=True) as conn:
        curve = differential_photometry(conn, GK_CEP, CMP)
    status, body = v2(api_url, "minima", **PAIR)
    assert status == 200, body
    assert_same(body, expected(curve))
    status, body = v2(api_url, "minima", **PAIR, epoch=epoch, period=period)
    assert status == 200
    assert_same(body, expected(curve, epoch, period))
    # The ephemeris given comes back as given.
    assert body["ephemeris"] == {
        "epoch": epoch,
        "period": period,
        "quadratic": 0.0,
        "epoch_error": None,
        "period_error": None,
        "quadratic_error": None,
        "n": 0,
        "chi2_dof": None,
        "fitted": False,
    }
    assert body["variable"]["catalog_id"] == "805-031770"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"epoch": 2459525.3}, 400, "epoch needs period"),
        ({"variable": "UCAC4:000-000000"}, 404, "000-000000"),
        ({"comparison": "nonsense"}, 400, ""),
        ({"epoch": 59525.3, "period": 0.936}, 400, "epoch"),
        ({"period": 0}, 400, "period"),
        ({"period": "nan"}, 400, "period"),
        ({"epoch": "inf", "period": 0.936}, 400, "epoch"),
        ({"as_of": "2026-01-01T00:00:00"}, 400, "time zone"),
        ({"night_aperture": "2021-11-06"}, 400, "must look like 2021-11-06:3"),
    ],
)
def test_bad_requests_answer_4xx_json_without_a_traceback(api_url, params, status, message):
    got, body = v2(api_url, "minima", **{**PAIR, **params})
    assert got == status, body
    assert set(body) == {"id", "message"} and message in body["message"]
    assert "Traceback" not in body["message"]


def test_the_endpoint_is_bounded_like_the_light_curve_and_documented():
    from aphos_lib.web.app import create_app
    from aphos_lib.web.rest.v2 import router
    from aphos_lib.web.settings import ApiSettings

    app = create_app(ApiSettings())
    routes = {r.path: r for r in router.routes}
    for path in ("/api/v2/lightcurve", "/api/v2/minima"):
        assert any(d.call is _heavy_reader for d in routes[path].dependant.dependencies), path
    document = app.openapi()
    answer = document["paths"]["/api/v2/minima"]["get"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Minima"
    }
    timing = document["components"]["schemas"]["Timing"]["properties"]
    assert set(timing) == TIMING_FIELDS
    params = {p["name"] for p in document["paths"]["/api/v2/minima"]["get"]["parameters"]}
    assert {"variable", "comparison", "epoch", "period", "quadratic", "maxima", "as_of"} <= params
    row = document["components"]["schemas"]["LightCurveRow"]["properties"]
    assert {"bjd_tdb", "bjd_at_site"} <= set(row)


# --- two crafted nights of an eclipse --------------------------------------------------------


def eclipse_files(directory) -> list:
    """Copies of the export every 3 minutes over two 4-hour nights, GK Cep eclipsed."""
    original = fixture_path("correct_file.csv")
    lines = original.read_bytes().decode("latin-1").split("\r\n")
    lines = lines[:-1] if lines[-1] == "" else lines
    rng = np.random.default_rng(7)
    paths = []
    for start in NIGHTS_MIN:
        for minutes in np.arange(0, 241, STEP_MIN):
            dip = DEPTH * math.exp(-0.5 * ((minutes - 120) / SIGMA_MIN) ** 2)
            factor = 10 ** (-0.4 * dip) * (1 + rng.normal(0, 0.003))
            text = _shifted(lines, start + minutes, keep=lambda c: True, gk_cep_factor=factor)
            path = directory / f"eclipse-{int(start + minutes):05d}.csv"
            path.write_bytes(("\r\n".join(text) + "\r\n").encode("latin-1"))
            paths.append(path)
    return paths


@pytest.fixture(scope="module")
def eclipse(embedded_server, tmp_path_factory) -> Iterator[dict]:
    from aphos_lib.web.app import create_app
    from aphos_lib.web.settings import ApiSettings

    catalogue, dbname = embedded_server.clone()
    try:
        files = eclipse_files(tmp_path_factory.mktemp("eclipse"))
        outcomes = ingest_files(catalogue, files, observer=OBSERVER)
        assert {o.status for o in outcomes} == {"stored"}
        with catalogue.connect("owner") as conn, conn.transaction():
            queries.observers.set_site(OBSERVER, 16.5833, 49.205, 304.0).run(conn)
        with catalogue.connect("reader", autocommit=True) as conn:
            curve = differential_photometry(conn, GK_CEP, CMP)
        app = create_app(ApiSettings(catalogue=catalogue))
        with serve_in_thread(app, "the API") as url:
            yield {"url": url, "curve": curve}
    finally:
        catalogue.dispose()
        embedded_server.drop(dbname)


def test_crafted_minima_are_found_and_equal_the_librarys(eclipse):
    url, curve = eclipse["url"], eclipse["curve"]
    assert len(curve) == 2 * (240 // STEP_MIN + 1) and curve.data.bjd_at_site.all()
    status, body = v2(url, "minima", **PAIR)
    assert status == 200, body
    timings = expected(curve)
    assert_same(body, timings)
    assert len(body["minima"]) == 2
    assert {m["type"] for m in body["minima"]} == {"primary"}
    assert all(m["bjd_at_site"] and m["observer"] == OBSERVER for m in body["minima"])
    # The minima are where the eclipses were made: 120 minutes into each night's series.
    first = curve.data.sort_values("bjd_tdb")
    made = first.bjd_tdb.iloc[0] + np.array(NIGHTS_MIN) / 1440 + 120 / 1440
    found = np.array([m["bjd_tdb"] for m in body["minima"]])
    errors = np.array([m["error_d"] for m in body["minima"]])
    assert np.all(np.abs(found - made) < np.maximum(5 * errors, 30 / 86400))


def test_crafted_o_c_against_a_given_and_a_fitted_ephemeris(eclipse):
    url, curve = eclipse["url"], eclipse["curve"]
    epoch = float(curve.minima().table.time.iloc[0]) + 0.001
    status, body = v2(url, "minima", **PAIR, epoch=epoch, period=PERIOD_D)
    assert status == 200, body
    assert_same(body, expected(curve, epoch, PERIOD_D))
    assert [m["cycle"] for m in body["minima"]] == [0.0, 2.0]
    assert body["ephemeris"]["epoch"] == epoch and body["ephemeris"]["fitted"] is False
    np.testing.assert_allclose(body["minima"][0]["o_c_d"], -0.001, atol=1e-4)
    # A period alone is a first guess: the ephemeris is fitted (or, from too few timings,
    # the endpoint says why there is none), as the library does.
    status, body = v2(url, "minima", **PAIR, period=PERIOD_D)
    assert status == 200
    assert_same(body, expected(curve, None, PERIOD_D))
    status, body = v2(url, "minima", **PAIR, epoch=epoch, period=PERIOD_D, quadratic="true")
    assert status == 200
    assert_same(body, expected(curve, epoch, PERIOD_D, quadratic=True))
    status, body = v2(url, "minima", **PAIR, maxima="true")
    assert status == 200
    assert_same(body, expected(curve, maxima=True))
    assert all(m["kind"] == "maximum" for m in body["minima"])
