"""The object page in Chromium: time to an interactive light curve of 5,000 points, and to a
redraw after an aperture change.

Database
--------
The benchmark database of ``bench/queries.py`` (``var/bench-queries``, or ``--home``), only
read: its GK Cep pair has 5,000 common images (four observers, about fifty nights). Build it
first with ``python bench/queries.py``; this script refuses to run on anything else and never
writes to it.

Method
------
One Voila on ``dashboards/`` as the dashboards service runs it (reader role, kernel culling,
``--pool-size`` preheated kernels per page (the service's default, refilled
``aphos_lib.hub.dashboards.REFILL_DELAY_S`` after a view takes one; 0: a kernel started for
each view), none of the machine's Jupyter configuration; ``--pause`` seconds between views)
and one headless Debian Chromium driven by Playwright. A first page view warms the disk cache
and Python's imports; then each of ``--runs`` views (a fresh browser context each, the page
closed afterwards) is timed:

- **open**: from ``page.goto`` of ``object.ipynb?variable=..&comparison=..`` until the light
  curve is interactive: the kernel has sent the curve (``.aphos-point-count`` names 5,000
  points) and the browser drew them: 5,000 ``path.dot`` in the figure's SVG, or for the
  WebGL marks (``webgl=1``) the ``canvas`` of bqplot-gl, after one more animation frame. The
  page's PanZoom interaction is live as soon as the figure is drawn.
- **pan**: the mouse drags the light curve sideways in 20 steps; each step is timed until the
  browser painted two more frames (the median step).
- **redraw**: a night is picked in the aperture panel, then from choosing ``Ap3`` for the
  variable that night until the browser drew the new curve: the redraw counter
  (``data-version``) moved on and, for SVG, the points' positions changed.

For scale, the home page (``index.ipynb``, a small table) is opened ``--runs`` times too:
a kernel's start and Voila's own page are most of the time to open any dashboard here.

Medians and maxima in seconds; targets (issue 7): open < 3 s median, redraw < 1 s. The
machine is shared (2 vCPUs, other jobs running): the numbers are upper bounds.

    python bench/dashboard.py [--runs 5] [--home var/bench-queries] [--marks svg webgl]
                              [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg

from aphos_lib.db.bootstrap import embedded_catalogue
from aphos_lib.db.embedded import EmbeddedPostgres
from aphos_lib.hub.configurer import service_environment
from aphos_lib.hub.dashboards import voila_arguments
from aphos_lib.hub.settings import HubSettings
from aphos_lib.widgets.urls import page_link

ROOT = Path(__file__).resolve().parents[1]
DBNAME = "aphos_bench_queries"  # bench/queries.py's
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]  # fmt: skip
POINTS = 5000
# A string that changes when any point of the light curve moves.
DOTS_SIGNATURE = """() => Array.from(document.querySelectorAll('.aphos-lightcurve path.dot'),
    d => d.parentNode.getAttribute('transform')).join('|')"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def bench_database(home: Path):
    """The built benchmark catalogue (read only) and its light-curve pair as ``CATALOG:ID``."""
    server = EmbeddedPostgres(home)
    if not server.status().running:
        server.start()
    try:
        with psycopg.connect(server.superuser_dsn(DBNAME), autocommit=True) as conn:
            meta = dict(conn.execute("SELECT key, value FROM bench.meta").fetchall())
            pair = meta["built"]["pair"]
            labels = [conn.execute("SELECT catalog || ':' || catalog_id FROM catalog_object "
                                   "WHERE id = %s", (i,)).fetchone()[0] for i in pair]  # fmt: skip
    except (psycopg.Error, KeyError) as error:
        sys.exit(f"no built benchmark database under {home} ({error}): run bench/queries.py")
    catalogue = embedded_catalogue(home, start=False, upgrade=False, dbname=DBNAME)
    return catalogue, labels


def start_voila(catalogue, port: int, log_path: Path, pool_size: int,
                extra: list[str]) -> subprocess.Popen:
    config_dir = tempfile.mkdtemp(prefix="aphos-bench-voila-")
    env = {**os.environ, **service_environment(catalogue, "reader"),
           "JUPYTER_CONFIG_DIR": config_dir}  # fmt: skip
    command = [sys.executable, "-m", "aphos_lib.hub.dashboards",
               *voila_arguments(ROOT / "dashboards", port=port, idle_timeout=60,
                                pool_size=pool_size),
               "--Voila.config_file_paths=[]", *extra]  # fmt: skip
    with log_path.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"Voila exited:\n{log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5):
                return process
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    process.terminate()
    sys.exit("Voila did not start in 60 s")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pan(page, steps: int = 20) -> float:
    """Drag the light curve sideways with the mouse; the median time per step until the
    browser painted the next frame (bqplot's PanZoom moves the scales, the marks follow)."""
    box = page.locator(".aphos-lightcurve").first.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    frames = []
    for k in range(1, steps + 1):
        started = time.perf_counter()
        page.mouse.move(x + 10 * k, y)
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => "
                      "requestAnimationFrame(() => r())))")  # fmt: skip
        frames.append(time.perf_counter() - started)
    page.mouse.up()
    page.locator("button.aphos-reset").click()
    return statistics.median(frames)


@contextlib.contextmanager
def fresh_page(browser):
    """A page in a new browser context (nothing cached), closed afterwards."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(120_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def floor(browser, url: str) -> float:
    """Opening the home page (a table of counts): what Voila itself costs on this machine."""
    with fresh_page(browser) as page:
        started = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_selector("[class*='aphos-']", state="visible")
        return time.perf_counter() - started


def view(browser, url: str, webgl: bool) -> dict[str, float]:
    """One timed page view: open, then one aperture change."""
    with fresh_page(browser) as page:
        started = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_selector(f".aphos-point-count [data-points='{POINTS}']")
        if webgl:
            page.wait_for_selector(".aphos-lightcurve canvas")
            page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
        else:
            page.wait_for_function(
                "n => document.querySelectorAll('.aphos-lightcurve path.dot').length >= n",
                arg=POINTS,
            )
        opened = time.perf_counter() - started
        panned = pan(page)

        nights = page.locator(".aphos-night select option").all_inner_texts()
        page.locator(".aphos-night select").select_option(label=nights[len(nights) // 2])
        page.wait_for_function("() => document.querySelector('.aphos-aperture-variable select')"
                               ".options.length > 3")  # fmt: skip
        version = page.locator(".aphos-point-count span").get_attribute("data-version")
        before = None if webgl else page.evaluate(DOTS_SIGNATURE)
        started = time.perf_counter()
        page.locator(".aphos-aperture-variable select").select_option(label="Ap3")
        page.wait_for_function("v => document.querySelector('.aphos-point-count span')"
                               ".getAttribute('data-version') !== v", arg=version)  # fmt: skip
        if webgl:
            page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
        else:
            page.wait_for_function(f"b => ({DOTS_SIGNATURE})() !== b", arg=before)
        redrawn = time.perf_counter() - started
        return {"open_s": opened, "redraw_s": redrawn, "pan_frame_s": panned}


def summary(times: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(times), 3), "max": round(max(times), 3),
            "runs": [round(t, 3) for t in times]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=ROOT / "var" / "bench-queries")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--marks", nargs="+", choices=["svg", "webgl"], default=["svg", "webgl"])
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--pool-size",
        type=int,
        default=HubSettings.dashboard_kernel_pool,
        help="preheated kernels per page (0: none)",
    )
    parser.add_argument(
        "--pause",
        type=float,
        default=0.0,
        help="seconds between timed views (time for the pool to refill)",
    )
    parser.add_argument("--voila-option", action="append", default=[],
                        help="one more option for Voila (repeatable), e.g. to try a setting")
    args = parser.parse_args()

    catalogue, (variable, comparison) = bench_database(args.home)
    port = free_port()
    log_path = Path(tempfile.mkdtemp(prefix="aphos-bench-dashboard-")) / "voila.log"
    voila = start_voila(catalogue, port, log_path, args.pool_size, args.voila_option)
    results: dict[str, object] = {"pair": [variable, comparison], "points": POINTS,
                                  "runs": args.runs, "pool_size": args.pool_size,
                                  "pause_s": args.pause, "voila_options": args.voila_option,
                                  "cpus": os.cpu_count(),
                                  "load_average": os.getloadavg()}  # fmt: skip
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            home = f"http://127.0.0.1:{port}/voila/render/index.ipynb"
            floor(browser, home)
            homes = []
            for _ in range(args.runs):
                time.sleep(args.pause)
                homes.append(floor(browser, home))
            results["home_open_s"] = summary(homes)
            log(f"home page (Voila's floor): {results['home_open_s']['median']:.2f} s")
            for marks in args.marks:
                webgl = marks == "webgl"
                params = {"variable": variable, "comparison": comparison,
                          "webgl": "1" if webgl else "0"}  # fmt: skip
                url = f"http://127.0.0.1:{port}/voila/render/" + page_link("object.ipynb", params)
                log(f"{marks}: warming up")
                view(browser, url, webgl)
                runs = []
                for k in range(args.runs):
                    time.sleep(args.pause)
                    runs.append(view(browser, url, webgl))
                    log(f"{marks} run {k + 1}: open {runs[-1]['open_s']:.2f} s, redraw "
                        f"{runs[-1]['redraw_s']:.2f} s, pan step "
                        f"{runs[-1]['pan_frame_s'] * 1000:.0f} ms")  # fmt: skip
                results[marks] = {key: summary([r[key] for r in runs])
                                  for key in ("open_s", "redraw_s", "pan_frame_s")}  # fmt: skip
            browser.close()
    finally:
        voila.terminate()
        voila.wait(20)
    results["load_average_after"] = os.getloadavg()
    for marks in args.marks:
        r = results[marks]
        print(f"{marks:6s} open to interactive: median {r['open_s']['median']:.2f} s "
              f"(max {r['open_s']['max']:.2f}, target < 3 s); redraw after an aperture change: "
              f"median {r['redraw_s']['median']:.2f} s (max {r['redraw_s']['max']:.2f}, "
              f"target < 1 s); pan: median {r['pan_frame_s']['median'] * 1000:.0f} ms a "
              "mouse step")  # fmt: skip
    print(f"home page open (Voila's own floor here): median "
          f"{results['home_open_s']['median']:.2f} s")  # fmt: skip
    print(f"load average before/after: {results['load_average']} / "
          f"{results['load_average_after']} on {os.cpu_count()} CPUs")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
