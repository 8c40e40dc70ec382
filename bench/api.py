"""REST API throughput: requests per second for search and comparison under loopback load.

Serves the API (``aphos_lib.web.rest``) with uvicorn in a subprocess (one worker process, as the
hub runs the ``api`` service) on the catalogue the environment names (``make demo``'s
embedded one by default), then drives it with a Python load generator (httpx, asyncio) at a
fixed concurrency for a fixed time per endpoint, after a warm-up:

- ``cone``: ``/api/space-objects/search-by-params`` with a 10 arcmin cone around GK Cep;
- ``name``: the same endpoint with ``name=GK``;
- ``comparison``: ``/api/space-objects/comparison`` for GK Cep against its comparison
  star (every image, all apertures of both stars);
- ``v2-lightcurve``: ``/api/v2/lightcurve`` for the same pair (JSON rows).

It prints requests per second and latency percentiles. The generator shares the 2 cores
with the server, so the numbers are a floor.

    python bench/api.py [--seconds 10] [--concurrency 8] [--json results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np

COORDINATES = json.dumps(
    {"rightAsc": "21:30:59.15", "declination": "+70:49:23.58", "radius": 10 / 60}
)
CASES = {
    "cone": ("/api/space-objects/search-by-params", {"coordinates": COORDINATES}),
    "name": ("/api/space-objects/search-by-params", {"name": "GK"}),
    "comparison": (
        "/api/space-objects/comparison",
        {"originalId": "805-031770", "referenceId": "803-032417"},
    ),
    "v2-lightcurve": (
        "/api/v2/lightcurve",
        {"variable": "UCAC4:805-031770", "comparison": "UCAC4:803-032417"},
    ),
}
SERVER = """
import uvicorn
from aphos_lib.db.catalogue import Catalogue
from aphos_lib.web.app import create_app
from aphos_lib.web.settings import ApiSettings
app = create_app(ApiSettings(catalogue=Catalogue.from_environment(), pool_size=8))
uvicorn.run(app, host="127.0.0.1", port={port}, log_level="warning")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _load(base: str, path: str, params: dict, seconds: float, concurrency: int) -> dict:
    latencies: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        for _ in range(3):  # warm-up: imports, pool, caches
            (await client.get(path, params=params)).raise_for_status()
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal failures
            while time.perf_counter() < stop:
                started = time.perf_counter()
                response = await client.get(path, params=params)
                latencies.append(time.perf_counter() - started)
                failures += response.status_code != 200

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    ms = np.array(latencies) * 1000
    return {
        "requests": len(latencies),
        "failures": failures,
        "requests_per_s": len(latencies) / elapsed,
        "p50_ms": float(np.median(ms)),
        "p95_ms": float(np.percentile(ms, 95)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(port=port)], env=os.environ.copy()
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/api/catalogs", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the API server did not start") from None
                time.sleep(0.2)
        results = {}
        for name, (path, params) in CASES.items():
            results[name] = asyncio.run(_load(base, path, params, args.seconds, args.concurrency))
    finally:
        server.terminate()
        server.wait(10)

    print(f"{'endpoint':<15}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'requests':>10}{'failed':>8}")
    for name, r in results.items():
        print(
            f"{name:<15}{r['requests_per_s']:>9.1f}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}"
            f"{r['requests']:>10}{r['failures']:>8}"
        )
    print(
        f"(concurrency {args.concurrency}, {args.seconds:g} s per endpoint, one uvicorn "
        "worker, generator on the same machine)"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
