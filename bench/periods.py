"""Lomb-Scargle: astropy's fast method against nifty-ls, and PDM, on the same grid, same run.

A season of nightly photometry (5,000 or 50,000 times over 200 days, a sinusoid plus noise,
0.015 mag errors) and the grid ``LightCurve.periodogram`` uses: 0.05 d to 100 d at 10 samples
per peak (about 40,000 frequencies over 200 days). Each engine runs ``--rounds`` times
alternately; the median wall time and the CPU time are printed with nifty-ls's ratio to
astropy's, measured in this run. PDM (bins 20, covers 2) is timed on 5,000 points by 20,000
frequencies.

    PYTHONPATH=. .venv/bin/python bench/periods.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from astropy.timeseries import LombScargle

from aphos_lib import period_search


def timed(call, rounds: int):
    walls, cpus = [], []
    for _ in range(rounds):
        w, c = time.perf_counter(), time.process_time()
        call()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    rounds = parser.parse_args().rounds
    import nifty_ls  # noqa: F401  (registers fastnifty with astropy)

    rng = np.random.default_rng(1)
    for n in (5_000, 50_000):
        t = 2459500 + np.sort(rng.uniform(0, 200, n))
        y = 0.2 * np.sin(2 * np.pi * t / 0.936) + rng.normal(0, 0.015, n)
        ls = LombScargle(t, y, np.full(n, 0.015))
        f = ls.autofrequency(
            minimum_frequency=1 / 100, maximum_frequency=1 / 0.05, samples_per_peak=10
        )
        methods = {"astropy fast": "fast", "nifty-ls": "fastnifty"}
        for method in methods.values():  # warm both (FFT plans, imports)
            ls.power(f, method=method, assume_regular_frequency=True)
        samples = {name: ([], []) for name in methods}
        for _ in range(rounds):  # alternately, so that a busy moment hits both
            for name, method in methods.items():
                wall, cpu = timed(
                    lambda m=method, ls=ls, f=f: ls.power(
                        f, method=m, assume_regular_frequency=True
                    ),
                    1,
                )
                samples[name][0].append(wall)
                samples[name][1].append(cpu)
        runs = {name: tuple(map(statistics.median, s)) for name, s in samples.items()}
        (aw, ac), (nw, nc) = runs["astropy fast"], runs["nifty-ls"]
        print(
            f"{n:>6} points x {len(f):,} frequencies: astropy fast {aw * 1e3:.1f} ms wall "
            f"({ac * 1e3:.1f} ms cpu), nifty-ls {nw * 1e3:.1f} ms ({nc * 1e3:.1f} ms cpu): "
            f"nifty-ls/astropy {nw / aw:.2f} wall, {nc / ac:.2f} cpu"
        )
    t = 2459500 + np.sort(rng.uniform(0, 200, 5000))
    y = np.sin(2 * np.pi * t / 0.7) + rng.normal(0, 0.1, 5000)
    f = np.linspace(0.01, 20, 20_000)
    wall, cpu = timed(lambda: period_search.pdm_theta(t, y, f), max(3, rounds // 2))
    print(f"PDM 5000 points x 20,000 frequencies: {wall:.2f} s wall ({cpu:.2f} s cpu)")


if __name__ == "__main__":
    main()
