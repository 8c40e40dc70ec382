"""Ingest throughput: APhoS against the original APhoS access pattern and a bare COPY.

Everything runs in one process against one freshly initialised embedded PostgreSQL 18 with its
normal, durable settings (fsync on, a commit per file), each method into its own database:

- **APhoS**: ``aphos_lib.ingest.ingest_files`` end to end: read the file, parse it, upsert the
  catalogue objects, COPY the fluxes, record the outcome, commit; one transaction per file;
  the objects' flux counts added once per batch (``fold_flux_counts``), included.
- **original**: the original APhoS upload on the same parsed rows (a share of the files from
  every observer: at about 3,000 rows/s all of them would take a minute a round), into the
  original's own schema with its foreign keys and indexes, with its SQL verbatim
  (``original_aphos.py``, from ``docs/original-aphos.md``): per file a ``photo_properties``
  row; per row a SELECT of the object by catalogue id, an INSERT of the object when missing,
  an INSERT of the flux; one transaction per file.
- **bare COPY**: the same rows, already encoded in memory, COPYed into an unindexed table with
  no constraints: what PostgreSQL itself costs. Measured with a commit per file (the same
  transaction granularity as the ingest) and in one transaction.

Each round starts from an empty catalogue, so every star is new in its first image. With
``--known-fields`` APhoS is also timed into a catalogue that already holds the fields (other
demo images of them, loaded untimed), as when observers send new nights of known fields.

It prints rates (fluxes, i.e. table rows, per second) and the ratios the catalogue issue asks
for: APhoS / original >= 30 and APhoS / bare COPY >= 0.25, from the best round of each
method, then the ratios within each round and their median (the machine's speed drifts
between rounds; methods measured in one round share it).

    python bench/ingest.py [--files 60] [--seed 1] [--field-stars 2500] [--rounds 5]
                           [--known-fields] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg
from psycopg import sql

from aphos_lib.db.bootstrap import embedded_catalogue
from aphos_lib.db.embedded import EmbeddedPostgres
from aphos_lib.demo import generate_demo_data
from aphos_lib.ingest import _flux_payload, ingest_files
from aphos_lib.io.sips import read_sips

from original_aphos import (
    INSERT_FLUX,
    INSERT_OBJECT,
    INSERT_PHOTO,
    ORIGINAL_INDEXES,
    ORIGINAL_TABLES,
    SELECT_OBJECT,
    dec_text,
    ra_text,
)

BARE_SCHEMA = """
CREATE TABLE bare_flux (image_id bigint, line int, object_id bigint, name text, x float8,
    y float8, adu float8, ra_deg float8, dec_deg float8, background float8,
    background_dev float8, ap_auto float8, ap_auto_dev float8, ap_auto_saturated bool,
    ap float8[], ap_dev float8[], ap_saturated bool[], light_curve_record bytea);
"""


def _fresh_database(superuser: str, name: str, schema: str | None = None) -> str:
    with psycopg.connect(superuser, autocommit=True) as conn:
        ident = sql.Identifier(name)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
    url = superuser.replace("/postgres?", f"/{name}?")
    if schema:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(schema)
    return url


def run_aphos(
    home: Path,
    superuser: str,
    files_by_observer: dict[str, list[Path]],
    known: dict[str, list[Path]] | None = None,
) -> float:
    """APhoS's rate into a fresh catalogue, or one first given ``known`` (other images of the
    same fields, not timed), as when observers send new nights of fields the archive holds."""
    with psycopg.connect(superuser, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS aphos_bench WITH (FORCE)")
    catalogue = embedded_catalogue(home, dbname="aphos_bench")
    for observer, paths in (known or {}).items():
        ingest_files(catalogue, paths, observer=observer)
    if known:
        with catalogue.connect("owner", autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    started = time.perf_counter()
    total = 0
    for observer, paths in files_by_observer.items():
        outcomes = ingest_files(catalogue, paths, observer=observer)
        assert all(o.status == "stored" for o in outcomes), [o.to_json() for o in outcomes]
        total += sum(o.fluxes for o in outcomes)
    elapsed = time.perf_counter() - started
    catalogue.dispose()
    return total / elapsed


def run_original(superuser: str, files_by_observer: dict[str, list[Path]]) -> float:
    """The original's upload, row by row, into its own schema (tables and indexes as its
    ``schema.sql`` creates them at start-up): per file a ``photo_properties`` row, per row the
    object looked up by catalogue id and inserted when missing, then the flux inserted with
    its display strings and ``ll_to_earth`` position; saturated values and missing deviations
    as 0.0, as the original stores them; one transaction per file."""
    url = _fresh_database(
        superuser, "original_bench", ORIGINAL_TABLES + "\n".join(ORIGINAL_INDEXES)
    )
    total = 0
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        for k, (observer, paths) in enumerate(files_by_observer.items()):
            google_sub = f"{k + 1:021d}"  # the Google account id the original keys users by
            with conn.transaction():
                conn.execute(
                    "INSERT INTO users (google_sub, username) VALUES (%s, %s)",
                    (google_sub, observer),
                )
            for path in paths:
                sips = read_sips(path)
                rows = sips.rows.to_pylist()
                apertures = range(1, sips.apertures + 1)
                with conn.transaction():
                    photo_id = conn.execute(
                        INSERT_PHOTO,
                        (
                            sips.exposure_begin.replace(tzinfo=None),
                            sips.exposure_end.replace(tzinfo=None),
                        ),
                    ).fetchone()[0]
                    for row in rows:
                        object_id = None
                        if row["catalog_id"] is not None:
                            found = conn.execute(SELECT_OBJECT, (row["catalog_id"],)).fetchone()
                            if found is None:
                                ra, dec = row["catalog_ra_deg"], row["catalog_dec_deg"]
                                found = conn.execute(
                                    INSERT_OBJECT,
                                    (
                                        row["name"],
                                        row["catalog"],
                                        row["catalog_id"],
                                        ra_text(ra),
                                        dec_text(dec),
                                        dec,
                                        ra,
                                        row["catalog_mag"],
                                    ),
                                ).fetchone()
                            object_id = found[0]
                        conn.execute(
                            INSERT_FLUX,
                            (
                                ra_text(row["ra_deg"]),
                                dec_text(row["dec_deg"]),
                                row["dec_deg"],
                                row["ra_deg"],
                                row["ap_auto"] or 0.0,
                                row["ap_auto_dev"] or 0.0,
                                object_id,
                                google_sub,
                                photo_id,
                                [row[f"ap{a}"] or 0.0 for a in apertures],
                                [row[f"ap{a}_dev"] or 0.0 for a in apertures],
                            ),
                        )
                total += len(rows)
    return total / (time.perf_counter() - started)


def run_bare(superuser: str, paths: list[Path], *, commit_each: bool) -> float:
    url = _fresh_database(superuser, "bare_bench", BARE_SCHEMA)
    payloads, total = [], 0
    for k, path in enumerate(paths):
        sips = read_sips(path)
        ids = np.arange(sips.rows.num_rows, dtype=np.int64)
        payloads.append(_flux_payload(sips.rows, k + 1, ids, sips.apertures))
        total += sips.rows.num_rows
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        for payload in payloads:
            with conn.cursor().copy("COPY bare_flux FROM STDIN (FORMAT binary)") as copy:
                copy.write(payload)
            if commit_each:
                conn.commit()
        conn.commit()
    return total / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=60, help="demo files to load (>= 50)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--field-stars",
        type=int,
        default=2500,
        help="catalogue stars per field, so images have as many rows as real "
        "SIPS exports (the published one has 2,671); 0 for the light "
        "make-demo fields",
    )
    parser.add_argument("--rounds", type=int, default=5, help="best of this many runs each")
    parser.add_argument(
        "--original-files",
        type=int,
        default=20,
        help="files the slow original pattern loads (its rate is per row)",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--known-fields",
        action="store_true",
        help="also time APhoS into a catalogue that already holds the fields "
        "(other demo images of them, seed + 1000, loaded untimed)",
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="aphos-bench-", dir="/tmp"))
    work.chmod(0o755)
    home = work / "home"
    home.mkdir()
    home.chmod(0o755)
    try:
        manifest = generate_demo_data(
            work / "files", seed=args.seed, images=args.files, field_stars=args.field_stars or None
        )
        by_observer: dict[str, list[Path]] = {}
        for f in manifest.files:
            by_observer.setdefault(f.observer, []).append(work / "files" / f.path)
        paths = [p for ps in by_observer.values() for p in ps]
        subset = {
            o: ps[: max(1, args.original_files * len(ps) // len(paths))]
            for o, ps in by_observer.items()
        }
        rows = sum(f.rows for f in manifest.files)
        known: dict[str, list[Path]] = {}
        if args.known_fields:
            other = generate_demo_data(
                work / "known",
                seed=args.seed + 1000,
                images=args.files,
                field_stars=args.field_stars or None,
            )
            for f in other.files:
                known.setdefault(f.observer, []).append(work / "known" / f.path)
        server = EmbeddedPostgres(home)
        status = server.start()
        superuser = server.superuser_dsn()
        # The demo files and the new cluster are still being written back to disk: flushed
        # now, so that the first round does not share the disk with them.
        os.sync()
        print(
            f"{len(paths)} demo files (seed {args.seed}, field_stars {args.field_stars}), "
            f"{rows:,} fluxes ({rows / len(paths):,.0f} per file); embedded PostgreSQL "
            f"{status.version}, durable settings; best of {args.rounds} rounds"
        )
        results: dict[str, list[float]] = {
            "aphos": [],
            "original": [],
            "bare_per_file": [],
            "bare_one_transaction": [],
        }
        if known:
            results["aphos_known_fields"] = []
        for _ in range(args.rounds):
            results["aphos"].append(run_aphos(home, superuser, by_observer))
            if known:
                results["aphos_known_fields"].append(run_aphos(home, superuser, by_observer, known))
            results["original"].append(run_original(superuser, subset))
            results["bare_per_file"].append(run_bare(superuser, paths, commit_each=True))
            results["bare_one_transaction"].append(run_bare(superuser, paths, commit_each=False))
        best = {k: max(v) for k, v in results.items()}
        ratio_original = best["aphos"] / best["original"]
        ratio_bare = best["aphos"] / best["bare_per_file"]
        ratio_bare_one = best["aphos"] / best["bare_one_transaction"]
        print(f"APhoS ingest (read, parse, load, commit)     {best['aphos']:>10,.0f} fluxes/s")
        print(
            f"original pattern (per-row SELECT/INSERT)     {best['original']:>10,.0f} fluxes/s"
            f"   APhoS / original = {ratio_original:.1f}x  (target >= 30x)"
        )
        print(
            f"bare COPY, unindexed, commit per file        {best['bare_per_file']:>10,.0f} rows/s"
            f"     APhoS / bare COPY = {ratio_bare:.2f}  (target >= 0.25)"
        )
        print(
            f"bare COPY, unindexed, one transaction        "
            f"{best['bare_one_transaction']:>10,.0f} rows/s     APhoS / bare COPY = "
            f"{ratio_bare_one:.2f}"
        )
        if known:
            print(
                f"APhoS into a catalogue holding the fields {best['aphos_known_fields']:>10,.0f}"
                " fluxes/s"
            )
        # The rounds run minutes apart on a machine whose speed drifts; the ratios of methods
        # measured in the same round show how much of the spread is the machine.
        paired = {
            name: [a / b for a, b in zip(results["aphos"], results[name], strict=True)]
            for name in ("original", "bare_per_file", "bare_one_transaction")
        }
        print(
            "ratios within each round (APhoS / baseline): "
            + "; ".join(
                f"{name} " + ", ".join(f"{r:.2f}" for r in ratios)
                for name, ratios in paired.items()
            )
        )
        print(
            "median of those: "
            + "; ".join(
                f"{name} {statistics.median(ratios):.2f}" for name, ratios in paired.items()
            )
        )
        if args.json:
            args.json.write_text(
                json.dumps(
                    {"files": len(paths), "fluxes": rows, "runs": results, "best": best}, indent=2
                )
            )
    finally:
        EmbeddedPostgres(home).stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
