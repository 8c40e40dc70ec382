"""Errors stay contained: a 500 breaks no other request, and no answer carries a NaN token."""

from __future__ import annotations

import http.client
import logging
from pathlib import Path

import pytest

from aphos_lib.ingest import ingest_files
from aphos_lib.web.app import create_app
from aphos_lib.web.settings import ApiSettings

from conftest import fixture_path, http_get, serve_in_thread, strict_json

GK, NEAR = "UCAC4:805-031770", "UCAC4:801-032283"  # both measured in correct_file.csv


def test_a_500_leaves_the_keep_alive_connection_usable(caplog):
    app = create_app(ApiSettings())  # the catalogue is opened on first use: never here

    @app.get("/test-only/fails")
    def fails():
        raise RuntimeError("a bug, with a path /secret/x in its message")

    with serve_in_thread(app, "the API server") as url, caplog.at_level(logging.ERROR):
        conn = http.client.HTTPConnection(url.removeprefix("http://"), timeout=30)
        try:
            conn.request("GET", "/test-only/fails")
            first = conn.getresponse()
            body = strict_json(first.read())
            sock = conn.sock
            assert first.status == 500 and first.getheader("connection") != "close"
            assert set(body) == {"id", "message"} and "/secret" not in body["message"]
            # The same connection, as the proxy reuses it for the next request (anyone's).
            conn.request("GET", "/api/openapi.json")
            second = conn.getresponse()
            assert second.status == 200 and "paths" in strict_json(second.read())
            assert conn.sock is sock
        finally:
            conn.close()
    traces = [r for r in caplog.records if r.exc_info and body["id"] in r.getMessage()]
    assert len(traces) == 1 and "a bug" in str(traces[0].exc_info[1])


def without_filter(tmp_path: Path) -> Path:
    """correct_file.csv with its Filter header line removed."""
    lines = fixture_path("correct_file.csv").read_bytes().split(b"\n")
    kept = [line for line in lines if not line.startswith(b"Filter;")]
    assert len(kept) == len(lines) - 1
    path = tmp_path / "no_filter.csv"
    path.write_bytes(b"\n".join(kept))
    return path


@pytest.mark.catalogue
def test_a_light_curve_of_an_image_without_filter_is_standard_json(catalogue, tmp_path):
    [outcome] = ingest_files(catalogue, [without_filter(tmp_path)], observer="nofilter")
    assert outcome.status == "stored"
    app = create_app(ApiSettings(catalogue=catalogue))
    with serve_in_thread(app, "the API server") as url:
        # http_get parses as browsers do: a NaN token fails the test.
        code, body = http_get(f"{url}/api/v2/lightcurve?variable={GK}&comparison={NEAR}")
        assert code == 200
        [row] = body["rows"]
        assert row["filter"] is None and row["observer"] == "nofilter"
        assert isinstance(row["magnitude"], float)
        code, body = http_get(
            f"{url}/api/space-objects/comparison?originalId=805-031770&referenceId=801-032283"
        )
        assert code == 200 and len(body["data"]) == 1
