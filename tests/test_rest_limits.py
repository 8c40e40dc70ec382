"""The API under slow requests: a statement timeout, and light curves on their own connections.

A slow query answers 503 with a JSON message long before the proxy in front gives up, and
however many slow light curves one client sends, the searches keep their connections.
"""

from __future__ import annotations

import statistics
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi import FastAPI

from aphos_lib.web.app import create_app
from aphos_lib.web.deps import BUSY, HeavyReader, Reader
from aphos_lib.web.settings import ApiSettings

from conftest import http_get, serve_in_thread

pytestmark = [pytest.mark.catalogue, pytest.mark.serial]
SLOW_S = 2.0


def _app(catalogue, **options) -> FastAPI:
    """The REST API, plus two routes whose query takes ``SLOW_S``: a search-like one on the
    shared connections and a light-curve-like one on the heavy ones."""
    app = create_app(ApiSettings(catalogue=catalogue, **options))

    @app.get("/slow")
    def slow(conn: Reader) -> dict:
        conn.execute("SELECT pg_sleep(%s)", (SLOW_S,))
        return {"slept": SLOW_S}

    @app.get("/slow-curve")
    def slow_curve(conn: HeavyReader) -> dict:
        conn.execute("SELECT pg_sleep(%s)", (SLOW_S,))
        return {"slept": SLOW_S}

    return app


def test_a_query_over_the_statement_timeout_answers_503_with_a_message(demo_catalogue):
    with serve_in_thread(_app(demo_catalogue, statement_timeout=0.3), "the API") as url:
        start = time.monotonic()
        status, body = http_get(f"{url}/slow")
        elapsed = time.monotonic() - start
        assert status == 503 and elapsed < 1.5
        assert set(body) == {"id", "message"}
        assert body["message"] == (
            "the query took longer than 0.3 s and was stopped; narrow the search or use fewer stars"
        )
        # The connection went back to the pool in a usable state.
        status, catalogs = http_get(f"{url}/api/v2/catalogs")
        assert status == 200 and catalogs == ["APHOS", "UCAC4"]


# 48 is beyond the 40 worker threads that sync routes run in: requests waiting for their turn
# must not hold one.
@pytest.mark.parametrize("clients", [8, 48])
def test_slow_light_curves_leave_the_searches_their_connections(demo_catalogue, clients):
    app = _app(demo_catalogue, heavy_wait=0.5)
    search = "/api/v2/objects?" + urllib.parse.urlencode({"name": "cep", "limit": 10})
    curve = "/api/v2/lightcurve?variable=UCAC4:805-031770&comparison=UCAC4:803-032417"
    with serve_in_thread(app, "the API") as url:
        assert http_get(url + search)[0] == 200  # pools open, code warm
        stop = threading.Event()
        heavy: list[tuple[int, object]] = []

        def flood() -> None:
            while not stop.is_set():
                heavy.append(http_get(f"{url}/slow-curve"))

        latencies, busy_curves = [], []
        with ThreadPoolExecutor(clients) as pool:
            for _ in range(clients):
                pool.submit(flood)
            time.sleep(0.3)  # every flood request sent: two sleep, the others wait their turn
            deadline = time.monotonic() + 2 * SLOW_S
            while time.monotonic() < deadline:
                start = time.monotonic()
                status, body = http_get(url + search)
                latencies.append(time.monotonic() - start)
                assert status == 200 and body["total"] >= 1
                time.sleep(0.02)
            # A real light curve takes its turn with the flood: it is told to retry.
            busy_curves.append(http_get(url + curve))
            stop.set()
    p95 = statistics.quantiles(latencies, n=20)[-1]
    print(
        f"\nsearch under {clients} slow requests: {len(latencies)} searches, "
        f"median {statistics.median(latencies) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"
    )
    assert p95 < 0.2
    assert {s for s, _ in heavy} == {200, 503}
    assert all(b == {"slept": SLOW_S} for s, b in heavy if s == 200)
    assert all(b["message"] == BUSY for s, b in heavy if s == 503)
    # A real light curve queued behind the flood: it gets its turn if one comes within the wait
    # (first come, first served), else it is told to retry; never an error or a hang.
    status, body = busy_curves[0]
    assert (status == 503 and body["message"] == BUSY) or (status == 200 and body), (status, body)
