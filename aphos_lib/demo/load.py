"""``make demo``: start the catalogue and load the demo data on its first run."""

from __future__ import annotations

import time
from pathlib import Path

from aphos_lib import queries
from aphos_lib.db.catalogue import Catalogue
from aphos_lib.ingest import ingest_files
from aphos_lib.settings import aphos_home
from aphos_lib.stats import catalogue_stats

__all__ = ["load_demo"]


def load_demo(
    catalogue: Catalogue,
    *,
    seed: int = 1,
    images: int = 300,
    directory: Path | None = None,
    campaign: bool = False,
    injected: int = 0,
) -> int:
    """Load the demo data set unless the catalogue already holds images; print what it holds.

    The files are written to ``directory`` (default ``$APHOS_HOME/demo``) and stored with the
    ingest, one upload per demo observer, exactly as an observer's files would be.
    ``campaign=True`` makes a timing campaign instead of the season's survey, ``injected``
    makes that many ordinary stars of each field variable (see
    :func:`aphos_lib.demo.generate_demo_data`).

    Returns
    -------
    int
        0 when every demo file is in the catalogue, else 1 (a process exit code).
    """
    from aphos_lib.demo import generate_demo_data

    with catalogue.connect("reader") as conn:
        before = catalogue_stats(conn)
    status = 0
    if before["images"]:
        print("the catalogue already holds data; demo data not loaded again")
    else:
        directory = directory or aphos_home() / "demo"
        started = time.perf_counter()
        manifest = generate_demo_data(
            directory, seed=seed, images=images, campaign=campaign, injected=injected
        )
        by_observer: dict[str, list[Path]] = {}
        for f in manifest.files:
            by_observer.setdefault(f.observer, []).append(directory / f.path)
        stored = 0
        for observer, paths in sorted(by_observer.items()):
            outcomes = ingest_files(catalogue, paths, observer=observer, client="demo")
            stored += sum(o.fluxes for o in outcomes)
            if not all(o.ok for o in outcomes):
                status = 1
                for o in outcomes:
                    if not o.ok:
                        print(f"{o.file}: {o.status}: {o.error}")
        _set_sites(catalogue, manifest)
        print(
            f"loaded {len(manifest.files)} demo images ({stored} fluxes) in "
            f"{time.perf_counter() - started:.1f} s"
        )
    with catalogue.connect("reader") as conn:
        stats = catalogue_stats(conn)
    print("the catalogue holds " + ", ".join(f"{v:,} {k}" for k, v in stats.items()))
    return status


def _set_sites(catalogue: Catalogue, manifest) -> None:
    """Give the demo observers their sites: nights start at local noon, BJD_TDB at the site."""
    with catalogue.connect("owner") as conn, conn.transaction():
        for o in manifest.observers:
            queries.observers.set_site(
                o.username, o.longitude_deg, o.latitude_deg, o.elevation_m
            ).run(conn)
