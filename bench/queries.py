"""Search and light-curve latency: APhoS against the original APhoS SQL, same database, same run.

Database
--------
A dedicated embedded PostgreSQL 18 (``var/bench-queries``, or ``--home``) holds one database
made by :func:`aphos_lib.db.bootstrap.embedded_catalogue`, so the tables and indexes are the
real migrated schema. It is generated on the server, not through SIPS files: the small part
(fields, observers, objects, images) is drawn with numpy and COPYed into staging tables of a
``bench`` schema; the fluxes are ``INSERT ... SELECT`` joins of images with their field's
objects, in image order (as the ingest writes them), on two connections, with the flux
indexes dropped during the load and recreated from their own definitions afterwards.

- 40 fields of 2,500 objects within 1 degree (100,000 objects): one at GK Cep (RA 325.5,
  Dec +71.3), one astride RA 0. UCAC4-style ids (``NNN-NNNNNN``), 2% ``USNO-B1.0``; names
  mostly NULL or ``''`` as in SIPS files, a few like ``V0734 Cep`` (and ``GK Cep``).
  Catalogue magnitudes 8-17 with N(<m) ~ 10^(0.25 m), so most stars are faint.
- Images observed unevenly: the GK Cep field in 5,000 images, three fields in 1,000, the rest
  in 100-600 each (about 17,700 images), by eight observers with 8-10 apertures each,
  in nightly sessions at a 90 s cadence over six years.
- An image measures the stars of its field brighter than its limiting magnitude, less 2% lost
  at random (edges, blends). One image in 20 is deep and reaches every star (so every object
  has fluxes); the limiting magnitudes of the others (per observer, scattered per image) are
  set so that the fluxes add up to ``--fluxes``: at 10M an image holds about 560 rows on
  average (limit ~14.2), at 30M about 1,700 (limit ~16.4, most of its field). Bright stars are
  thus in nearly every image of their field; stars brighter than ~9 mag are saturated (NULL
  values, flags set). ``ap``/``ap_dev`` follow a curve of growth with photon and sky noise.
- The light-curve pair, ``GK Cep`` (variable, 11.0 mag, 0.35 mag amplitude) at the field
  centre and a comparison 3' away, is measured in every image of the field: 5,000 common
  images.

Image rows are complete (exposure begin/end/mid, JD, HJD, ``header '[]'``, ``columns '{}'``,
apertures, flux and matched counts, observer, created_at); ``catalog_object.flux_count``,
``image.flux_count`` and ``catalogue_totals`` come from GROUP BYs over the loaded fluxes.
The build runs with fsync off and ``wal_level=minimal``; the server is then restarted with
the embedded catalogue's normal settings before anything is timed. A ``bench.meta`` row
records the parameters: a later run with the same ``--fluxes`` and ``--seed`` reuses the
database (``--rebuild`` forces a new one).

The original APhoS
------------------
Its schema (``docs/original-aphos.md`` 1.0, verbatim: cube, earthdistance with ``earth()``
redefined as 180/pi so distances are in degrees, ``users``, ``space_object``,
``photo_properties``, ``flux`` and its indexes, created after the load) lives in the schema
``original`` of the same database, filled from the same rows: ``coordinates =
ll_to_earth(dec, ra)``, ``catalog_rec``/``catalog_dec`` and ``rec``/``dec`` as the original's
display strings, saturated values as 0.0, users from observers, photo_properties from images.
Its SQL is replayed as its DAOs build it (``search_path = original, public``):

- searches: ``SpaceObjectDaoImpl.queryObjects`` (1(a)) with the one filter of the search
  (the web form's shape: its magnitude filter is left out at the defaults), the name bound as
  ``%NAME%`` so that it is the same substring question; the unfiltered list is 1(b), i.e. 1(a)
  with ``catalog_mag BETWEEN 0.0 AND 15.0`` as the REST API always sends. Parameters are
  bound as the Java setter does (``setFloat``: float4).
- light curve: ``FluxDaoImpl.getFluxesByObjId`` (1(c)), every row fetched, then magnitude and
  deviation computed as ``FluxRowMapper`` does (float32, saturated as -inf, deviation 0 when
  a deviation is 0), vectorised with numpy: the fetch plus the arithmetic, not the mapper's
  per-value string formatting.

What is timed
-------------
Every query runs on its own connection of the read-only role (``catalogue.connect("reader")``,
autocommit; psycopg prepares a statement after five executions, as the original's JDBC driver
does), is warmed up, then timed ``--runs`` times (50) as wall time in this process: median
and p95, in ms. Ours:

- ``search_objects(conn, ra=..., dec=..., radius=0.5)``: a 0.5 degree cone at the centre of
  the busiest field (the page of 100 nearest, and the number in the cone);
- ``search_objects(conn, min_mag=12, max_mag=13)``, ``search_objects(conn, name="Cep")`` and
  ``search_objects(conn)``: the first page and the total, as a DataFrame;
- ``differential_photometry(conn, variable, comparison)``: the pair's light curve with
  magnitudes and deviations (``.data``), 5,000 points.

Before timing, each pair of queries is checked to answer the same question: cone counts
(ours, the exact cone by ``earth_distance``, the original's box), match counts, the flux
counts the original counts against ours, light-curve rows and magnitudes.

Targets (the search issue, at >= 10M fluxes on the 2-core machine): every search p95 < 5 ms
and >= 100x faster than the original; the light curve p95 < 20 ms and >= 3x faster.

    python bench/queries.py [--fluxes 10M|30M] [--seed 1] [--runs 50] [--original-runs 50]
                            [--home var/bench-queries] [--rebuild] [--jobs 2] [--json out.json]
                            [--only WORD ...]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from psycopg import sql
from psycopg.types.numeric import Float4

from aphos_lib import queries
from aphos_lib.calibration import solve_stored_images
from aphos_lib.cross_identification import relink_all
from aphos_lib.db import light_curve_records
from aphos_lib.db.bootstrap import embedded_catalogue
from aphos_lib.db.catalogue import Catalogue
from aphos_lib.db.embedded import EmbeddedPostgres
from aphos_lib.search import search_objects
from aphos_lib.variability import rebuild_variability

from original_aphos import (
    ORIGINAL_COMPARISON,
    ORIGINAL_INDEXES,
    ORIGINAL_TABLES,
    original_search_sql,
)

GENERATOR_VERSION = 2  # 2: photometric solutions and variability statistics
DBNAME = "aphos_bench_queries"
#: Fast, non-durable settings for the build only; the timing runs use the normal ones.
BUILD_SETTINGS = {
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "32GB",
    "checkpoint_timeout": "1h",
    "shared_buffers": "1GB",
    "work_mem": "256MB",
    "maintenance_work_mem": "1GB",
    "max_parallel_maintenance_workers": "0",
    "autovacuum": "off",
}
JD_UNIX_EPOCH = 2440587.5
EXPOSURE_S = 60.0
CADENCE_S = 90.0
DROPOUT = 0.02
DEEP_EVERY, DEEP_LIMIT = 20, 17.5  # one image in 20 (long exposures) reaches every star
MAG_RANGE = (8.0, 17.0)
MAG_SLOPE = 0.25  # log10 N(<m) grows by this per magnitude
RADII_PX = np.arange(2.0, 12.0)  # ten aperture radii
OBSERVERS = ["novak", "svoboda", "dvorak", "cerny", "prochazka", "kucera", "vesely", "horak"]
CONSTELLATIONS = [
    "Cas",
    "Cyg",
    "Lyr",
    "Her",
    "Dra",
    "UMa",
    "Aur",
    "Per",
    "And",
    "Peg",
    "Lac",
    "Vul",
    "Aql",
    "Boo",
    "CVn",
    "Cam",
    "Gem",
    "Tau",
    "Ori",
    "Leo",
    "Vir",
    "Sge",
    "Del",
    "Oph",
    "Ser",
    "Cnc",
    "Lyn",
    "Tri",
    "Ari",
    "Psc",
    "Mon",
    "Sct",
    "Cep",
    "LMi",
    "Com",
    "CrB",
    "Equ",
    "Lup",
    "Hya",
]
GK_CEP = (325.4804, 71.3114)

# ------------------------------------------------------------------- the original magnitudes

DEV_CONSTANT = 2.5 / np.log(10)


def original_magnitudes(rows: Sequence[tuple]) -> tuple[np.ndarray, np.ndarray]:
    """Magnitude and deviation of each comparison row, as ``FluxRowMapper`` computes them.

    ``getFloat`` reads the fluxes as float32; a saturated flux (0.0) gives -inf and no
    deviation; a zero deviation gives deviation 0.
    """
    if not rows:
        return np.empty(0, np.float32), np.empty(0, np.float32)
    cols = list(zip(*rows, strict=True))
    ap, ref = np.array(cols[2], np.float32), np.array(cols[4], np.float32)
    ap_dev, ref_dev = np.array(cols[5], np.float32), np.array(cols[7], np.float32)
    saturated = (ap == 0) | (ref == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        magnitude = (-2.5 * np.log10(ap / ref)).astype(np.float32)
        deviation = DEV_CONSTANT * np.sqrt((ap_dev / ap) ** 2 + (ref_dev / ref) ** 2)
    magnitude[saturated] = -np.inf
    deviation = np.where((ap_dev == 0) | (ref_dev == 0), 0.0, deviation).astype(np.float32)
    deviation[saturated] = np.nan
    return magnitude, deviation


# --------------------------------------------------------------------------- the generated sky


@dataclass(frozen=True)
class Plan:
    """What to generate; the database is reused when its ``bench.meta`` plan is equal."""

    fluxes: int
    seed: int = 1
    fields: int = 40
    objects_per_field: int = 2500
    field_radius_deg: float = 1.0
    busiest_images: int = 5000
    big_fields: int = 3
    big_images: int = 1000
    small_images: tuple[int, int] = (100, 600)
    version: int = GENERATOR_VERSION

    def key(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))


@dataclass
class Sky:
    """Fields, observers, objects and images drawn for a plan (numpy arrays by column)."""

    fields: dict[str, np.ndarray]
    observers: dict[str, np.ndarray]
    objects: dict[str, np.ndarray]
    images: dict[str, np.ndarray]
    depth: float = 0.0
    pair: tuple[int, int] = (0, 0)
    expected_fluxes: int = 0
    chunks: list[tuple[int, int]] = field(default_factory=list)


def _field_centres(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """GK Cep's field, one astride RA 0, the rest spread over the northern sky, >= 4 deg apart."""
    ra, dec = [GK_CEP[0], 0.3], [GK_CEP[1], 35.0]
    while len(ra) < n:
        r = rng.uniform(0, 360)
        d = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(-25)), np.sin(np.radians(80)))))
        sep = _separation(np.array(ra), np.array(dec), r, d)
        if sep.min() > 4:
            ra.append(r)
            dec.append(d)
    return np.array(ra), np.array(dec)


def _separation(ra1, dec1, ra2, dec2) -> np.ndarray:
    """Great-circle separation in degrees (haversine)."""
    ra1, dec1, ra2, dec2 = map(np.radians, (ra1, dec1, ra2, dec2))
    h = np.sin((dec2 - dec1) / 2) ** 2 + np.cos(dec1) * np.cos(dec2) * np.sin((ra2 - ra1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.minimum(1, h))))


def _magnitudes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Catalogue magnitudes with N(<m) ~ 10^(MAG_SLOPE m) between MAG_RANGE."""
    lo, hi = (10 ** (MAG_SLOPE * m) for m in MAG_RANGE)
    return np.log10(lo + rng.uniform(size=n) * (hi - lo)) / MAG_SLOPE


def make_fields(plan: Plan, rng: np.random.Generator) -> dict[str, np.ndarray]:
    ra, dec = _field_centres(rng, plan.fields)
    small = rng.uniform(*np.log(plan.small_images), size=plan.fields - 1 - plan.big_fields)
    images = np.concatenate(
        [[plan.busiest_images], np.full(plan.big_fields, plan.big_images), np.exp(small).round()]
    ).astype(int)
    constellation = np.array(
        ["Cep"] + [CONSTELLATIONS[k % len(CONSTELLATIONS)] for k in range(plan.fields - 1)]
    )
    return {
        "id": np.arange(plan.fields),
        "ra": ra,
        "dec": dec,
        "images": images,
        "constellation": constellation,
    }


def make_observers(rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = len(OBSERVERS)
    return {
        "id": np.arange(1, n + 1),
        "username": np.array(OBSERVERS),
        "subject": np.array([f"1{v:020d}" for v in rng.integers(0, 10**18, n)]),
        "longitude": rng.uniform(12, 19, n).round(3),
        "apertures": rng.integers(8, 11, n),
        "depth": rng.normal(0, 0.4, n),
        "saturation": rng.uniform(8.6, 9.3, n),
        "zero_point": rng.uniform(21.5, 22.5, n),
        "filter": rng.choice(np.array(["V", "R", "C"]), n),
    }


def make_objects(plan: Plan, rng: np.random.Generator, fields: dict) -> dict[str, np.ndarray]:
    """Stars spread uniformly within ``field_radius_deg`` of each field's centre."""
    per, nf = plan.objects_per_field, plan.fields
    n = per * nf
    fid = np.repeat(np.arange(nf), per)
    r = plan.field_radius_deg * np.sqrt(rng.uniform(size=n))
    theta = rng.uniform(0, 2 * np.pi, n)
    dec = fields["dec"][fid] + r * np.sin(theta)
    ra = np.mod(fields["ra"][fid] + r * np.cos(theta) / np.cos(np.radians(dec)), 360.0)
    mag = _magnitudes(rng, n)
    line = np.concatenate([rng.permutation(per) + 1 for _ in range(nf)])
    variable = np.zeros(n, bool)
    # The light-curve pair: GK Cep at the busiest field's centre and a comparison 3' away.
    var, cmp = 0, 1
    ra[var], dec[var], mag[var], variable[var] = GK_CEP[0], GK_CEP[1], 11.0, True
    ra[cmp], dec[cmp], mag[cmp] = GK_CEP[0] + 0.05 / np.cos(np.radians(GK_CEP[1])), GK_CEP[1], 11.4
    usno = rng.uniform(size=n) < 0.02
    usno[[var, cmp]] = False
    ids = np.arange(1, n + 1)
    catalog_id = np.where(
        usno,
        [f"{int((d + 90) * 10):04d}-{i:07d}" for d, i in zip(dec, ids, strict=True)],
        [f"{int((d + 90) / 0.2) + 1:03d}-{i:06d}" for d, i in zip(dec, ids, strict=True)],
    )
    name = np.where(rng.uniform(size=n) < 0.5, None, "").astype(object)
    for f in range(nf):  # a few named variables per field, GK Cep in the busiest
        picks = rng.choice(np.arange(f * per + 2, (f + 1) * per), 8, replace=False)
        for k, p in enumerate(picks):
            name[p] = f"V{rng.integers(1, 2000):04d} {fields['constellation'][f]}"
            variable[p] = k < 3
    name[var] = "GK Cep"
    return {
        "id": ids,
        "field": fid,
        "line": line,
        "ra": ra,
        "dec": dec,
        "mag": mag.round(3),
        "bv": rng.normal(0.7, 0.3, n).round(3),
        "jk": rng.normal(0.5, 0.2, n).round(3),
        "catalog": np.where(usno, "USNO-B1.0", "UCAC4"),
        "catalog_id": catalog_id,
        "name": name,
        "variable": variable,
        "always": np.isin(ids, [var + 1, cmp + 1]),
    }


def make_images(
    plan: Plan, rng: np.random.Generator, fields: dict, observers: dict
) -> dict[str, np.ndarray]:
    """Each field's images in nightly sessions of its observers; ids in time order."""
    cols: dict[str, list] = {k: [] for k in ("field", "observer", "jd_begin", "deep")}
    nights_used: set[tuple[int, int]] = set()
    n_obs = len(observers["id"])
    for f, count in enumerate(fields["images"]):
        who = np.arange(4) if f == 0 else rng.choice(n_obs, rng.integers(1, 4), replace=False)
        left = int(count)
        while left:
            size = min(left, int(rng.integers(40, 150)))
            observer = int(rng.choice(who))
            night = int(rng.integers(0, 6 * 365))
            while (observer, night) in nights_used:
                night = int(rng.integers(0, 6 * 365))
            nights_used.add((observer, night))
            start = 2458500.0 + night + 0.30 + rng.uniform(0, 0.05)
            cols["field"] += [f] * size
            cols["observer"] += [observer] * size
            cols["jd_begin"] += list(start + np.arange(size) * CADENCE_S / 86400)
            cols["deep"] += list((np.arange(count - left, count - left + size) % DEEP_EVERY) == 7)
            left -= size
    order = np.argsort(np.array(cols["jd_begin"]), kind="stable")
    fid = np.array(cols["field"])[order]
    obs = np.array(cols["observer"])[order]
    jd = np.array(cols["jd_begin"])[order]
    deep = np.array(cols["deep"])[order]
    n = len(jd)
    seeing = rng.uniform(1.3, 2.6, n)  # Gaussian sigma in pixels
    growth = 1 - np.exp(-(RADII_PX[None, :] ** 2) / (2 * seeing[:, None] ** 2))
    return {
        "id": np.arange(1, n + 1),
        "field": fid,
        "observer": observers["id"][obs],
        "jd_begin": jd,
        "deep": deep,
        "apertures": observers["apertures"][obs],
        "depth": observers["depth"][obs] + rng.normal(0, 0.3, n),
        "saturation": observers["saturation"][obs] + rng.normal(0, 0.1, n),
        "zero_point": observers["zero_point"][obs] + rng.normal(0, 0.1, n),
        "filter": observers["filter"][obs],
        "seeing": seeing,
        "growth": growth,
        "sky": 300.0 * RADII_PX[None, :] ** 2 * np.ones((n, 1)),
        "centre_ra": fields["ra"][fid] + rng.normal(0, 0.02, n),
        "centre_dec": fields["dec"][fid] + rng.normal(0, 0.02, n),
        "sha256": rng.bytes(32 * n),
        "upload_days": rng.uniform(0.5, 30, n),
    }


def _image_counts(objects: dict, images: dict, depth: float, nf: int) -> np.ndarray:
    """Stars each image measures (before the random loss) at limiting magnitude depth+scatter."""
    mags = [np.sort(objects["mag"][objects["field"] == f]) for f in range(nf)]
    limit = _limits(images, depth)
    counts = np.empty(len(limit), np.int64)
    for f in range(nf):
        here = images["field"] == f
        counts[here] = np.searchsorted(mags[f], limit[here])
    return counts


def _limits(images: dict, depth: float) -> np.ndarray:
    """Limiting magnitudes: the deep images reach every star, the others ``depth`` + scatter.

    Never so shallow that the light-curve pair (11.0-11.4 mag) drops out.
    """
    return np.where(images["deep"], DEEP_LIMIT, np.clip(depth + images["depth"], 12.0, 18.0))


def make_sky(plan: Plan) -> Sky:
    """Draw everything but the fluxes, and the depth that gives ``plan.fluxes`` fluxes."""
    rng = np.random.default_rng(plan.seed)
    fields = make_fields(plan, rng)
    observers = make_observers(rng)
    objects = make_objects(plan, rng, fields)
    images = make_images(plan, rng, fields, observers)
    lo, hi = 10.0, 19.0
    want = plan.fluxes / (1 - DROPOUT) * 1.002  # a little over: the loss is random
    if _image_counts(objects, images, hi, plan.fields).sum() < want:
        raise SystemExit(f"{plan.fluxes:,} fluxes need more images or objects than planned")
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (
            (mid, hi)
            if _image_counts(objects, images, mid, plan.fields).sum() < want
            else (lo, mid)
        )
    counts = _image_counts(objects, images, hi, plan.fields)
    sky = Sky(
        fields,
        observers,
        objects,
        images,
        depth=hi,
        pair=(1, 2),
        expected_fluxes=int(counts.sum() * (1 - DROPOUT)),
    )
    sky.chunks = _chunks(images["id"], counts, rows=150_000)
    return sky


def _chunks(ids: np.ndarray, counts: np.ndarray, rows: int) -> list[tuple[int, int]]:
    """Runs of consecutive image ids holding about ``rows`` fluxes each."""
    edges = np.searchsorted(np.cumsum(counts), np.arange(rows, counts.sum(), rows))
    starts = np.unique(np.concatenate([[0], edges + 1]))
    starts = starts[starts < len(ids)]
    ends = np.append(starts[1:] - 1, len(ids) - 1)
    return [(int(ids[a]), int(ids[b])) for a, b in zip(starts, ends, strict=True)]


# --------------------------------------------------------------------------- loading helpers


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def copy_rows(conn: psycopg.Connection, table: str, columns: Sequence[str], rows) -> None:
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.SQL(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor().copy(stmt) as copy:
        for row in rows:
            copy.write_row(row)


def run_parallel(
    dsn: str,
    jobs: Sequence[Sequence[tuple[str, Any]]],
    workers: int,
    label: str,
    setup: Sequence[str] = (),
) -> None:
    """Run each job (statements in one transaction) on ``workers`` connections, in order."""
    todo: queue.Queue = queue.Queue()
    for job in jobs:
        todo.put(job)
    done, errors, lock = [0], [], threading.Lock()
    step = max(1, len(jobs) // 10)

    def worker() -> None:
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                for statement in setup:
                    conn.execute(statement)
                while not errors:
                    try:
                        job = todo.get_nowait()
                    except queue.Empty:
                        return
                    run_job(conn, job)
                    with lock:
                        done[0] += 1
                        if done[0] % step == 0 and len(jobs) > 3:
                            log(f"  {label}: {done[0]}/{len(jobs)}")
        except Exception as exc:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(min(workers, len(jobs)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def run_job(conn: psycopg.Connection, job: Sequence[tuple[str, Any]]) -> None:
    if len(job) == 1 and job[0][0].lstrip().upper().startswith(("VACUUM", "CREATE INDEX")):
        conn.execute(job[0][0], job[0][1])  # outside a transaction block
        return
    with conn.transaction():
        for statement, params in job:
            conn.execute(statement, params)


# --------------------------------------------------------------------------- building ours

STAGING = """
DROP SCHEMA IF EXISTS bench CASCADE;
CREATE SCHEMA bench;
CREATE TABLE bench.meta (key text PRIMARY KEY, value jsonb NOT NULL);
CREATE TABLE bench.object_plan (id bigint PRIMARY KEY, field int, line int, catalog text,
    catalog_id text, name text, ra float8, dec float8, mag float8, bv float8, jk float8,
    variable bool, always bool);
CREATE TABLE bench.image_plan (id bigint PRIMARY KEY, field int, observer_id bigint,
    jd_begin float8, apertures int, lim float8, saturation float8, zero_point float8,
    filter text, seeing float8, growth float8[], sky float8[], centre_ra float8,
    centre_dec float8, sha256 bytea, upload_days float8);
CREATE TABLE bench.field (id int PRIMARY KEY, ra float8, dec float8, images int,
    constellation text);
-- Display strings of the original: 21h41m55.291s and +71°18'41.04".
CREATE FUNCTION bench.ra_text(ra float8) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (SELECT to_char(t / 3600000, 'FM00') || 'h' || to_char(t / 60000 % 60, 'FM00') || 'm'
               || to_char((t % 60000) / 1000.0, 'FM00.000') || 's'
        FROM (SELECT round(ra / 15 * 3600000)::bigint AS t) s);
CREATE FUNCTION bench.dec_text(d float8) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (SELECT CASE WHEN d < 0 THEN '-' ELSE '+' END || to_char(t / 360000, 'FM00') || '°'
               || to_char(t / 6000 % 60, 'FM00') || ''''
               || to_char((t % 6000) / 100.0, 'FM00.00') || '"'
        FROM (SELECT round(abs(d) * 360000)::bigint AS t) s);
"""

# Fluxes of images first..last: every star of the image's field brighter than its limit, less
# the random loss; one noise draw for ap_auto and one for the apertures (the same photons).
_APS = ", ".join(f"f * g[{k}] + sqrt(f * g[{k}] + s[{k}]) * e_ap" for k in range(1, 11))
_DEVS = ", ".join(f"sqrt(f * g[{k}] + s[{k}])" for k in range(1, 11))
# The light-curve record is written with the row, as the ingest writes it.
FLUX_CHUNK = f"""
INSERT INTO flux (image_id, line, object_id, name, x, y, adu, ra_deg, dec_deg, background,
                  background_dev, ap_auto, ap_auto_dev, ap_auto_saturated, ap, ap_dev,
                  ap_saturated, light_curve_record)
SELECT q.*, {light_curve_records.FLUX_RECORD} FROM (
SELECT image_id, line, object_id, name, x, y,
       CASE WHEN sat THEN 65535 ELSE background + f / (2 * pi() * seeing * seeing) END AS adu,
       ra_raw - 360 * floor(ra_raw / 360) AS ra_deg, dec_deg, background, background_dev,
       CASE WHEN sat THEN NULL ELSE 0.95 * f + sqrt(0.95 * f + 10800) * e_auto END AS ap_auto,
       CASE WHEN sat THEN NULL ELSE sqrt(0.95 * f + 10800) END AS ap_auto_dev,
       sat AS ap_auto_saturated,
       CASE WHEN sat THEN array_fill(NULL::float8, ARRAY[n]) ELSE (ARRAY[{_APS}])[1:n] END,
       CASE WHEN sat THEN array_fill(NULL::float8, ARRAY[n]) ELSE (ARRAY[{_DEVS}])[1:n] END,
       array_fill(sat, ARRAY[n])
FROM (
    SELECT i.id AS image_id, o.line, o.id AS object_id, o.name, i.apertures AS n,
           i.growth AS g, i.sky AS s, i.seeing,
           10 ^ (0.4 * (i.zero_point - m.m)) AS f, m.m < i.saturation AS sat,
           1800 + dra * cosd(i.centre_dec) * 1800 AS x,
           1800 + (o.dec - i.centre_dec) * 1800 AS y,
           o.ra + random_normal(0, 0.3 / 3600) / cosd(o.dec) AS ra_raw,
           o.dec + random_normal(0, 0.3 / 3600) AS dec_deg,
           1000 + random_normal(0, 20) AS background,
           abs(25 + random_normal(0, 2)) AS background_dev,
           random_normal() AS e_auto, random_normal() AS e_ap
    FROM bench.image_plan i
    JOIN bench.object_plan o ON o.field = i.field AND o.mag < i.lim
    CROSS JOIN LATERAL (SELECT o.mag + CASE WHEN o.variable
                            THEN 0.35 * sind(360 * (i.jd_begin - 2459000.5) / 0.4) ELSE 0 END
                        AS m,
                        o.ra - i.centre_ra - 360 * round((o.ra - i.centre_ra) / 360) AS dra) m
    WHERE i.id BETWEEN %(first)s AND %(last)s AND (o.always OR random() >= {DROPOUT})
    ORDER BY i.id, o.line
    OFFSET 0
) r
) q
"""
OBJECTS_FROM_PLAN = """
INSERT INTO catalog_object (id, catalog, catalog_id, name, ra_deg, dec_deg, mag, bv, jk,
                            flux_count, created_at)
OVERRIDING SYSTEM VALUE
SELECT o.id, o.catalog, o.catalog_id, o.name, o.ra, o.dec, o.mag, o.bv, o.jk,
       coalesce(c.n, 0),
       coalesce(to_timestamp((c.first_jd - %(jd_unix)s) * 86400) + interval '1 day', now())
FROM bench.object_plan o
LEFT JOIN (SELECT f.object_id, count(*) AS n, min(i.jd_begin) AS first_jd
           FROM flux f JOIN bench.image_plan i ON i.id = f.image_id
           GROUP BY f.object_id) c ON c.object_id = o.id
ORDER BY o.id
"""
IMAGES_FROM_PLAN = """
INSERT INTO image (id, observer_id, sha256, filename, encoding, exposure_begin, exposure_end,
                   exposure_mid, exposure_time_s, jd_begin, jd_end, jd_mid, hjd, filter,
                   center_ra_deg, center_dec_deg, header, columns, apertures, flux_count,
                   matched_count, created_at)
OVERRIDING SYSTEM VALUE
SELECT i.id, i.observer_id, i.sha256,
       f.constellation || '_' || lpad(i.field::text, 2, '0') || '_'
           || to_char(to_timestamp((i.jd_begin - %(jd_unix)s) * 86400) AT TIME ZONE 'UTC',
                      'YYYYMMDD"T"HH24MISS') || '.csv',
       'utf-8',
       to_timestamp((i.jd_begin - %(jd_unix)s) * 86400),
       to_timestamp((i.jd_begin - %(jd_unix)s) * 86400 + %(exposure)s),
       to_timestamp((i.jd_begin - %(jd_unix)s) * 86400 + %(exposure)s / 2),
       %(exposure)s, i.jd_begin, i.jd_begin + %(exposure)s / 86400,
       i.jd_begin + %(exposure)s / 172800,
       i.jd_begin + %(exposure)s / 172800
           + 0.0057 * cosd(360 * (i.jd_begin - 2459000.5) / 365.25 - f.ra),
       i.filter, i.centre_ra - 360 * floor(i.centre_ra / 360), i.centre_dec, '[]'::jsonb, '{}',
       i.apertures, coalesce(c.n, 0), coalesce(c.matched, 0),
       to_timestamp((i.jd_begin - %(jd_unix)s) * 86400) + i.upload_days * interval '1 day'
FROM bench.image_plan i
JOIN bench.field f ON f.id = i.field
LEFT JOIN (SELECT image_id, count(*) AS n, count(object_id) AS matched FROM flux
           GROUP BY image_id) c ON c.image_id = i.id
ORDER BY i.id
"""


def stage_sky(conn: psycopg.Connection, sky: Sky) -> None:
    """The staging tables, the observers; fields, objects and images to be joined."""
    conn.execute(STAGING)
    o, im, fl, ob = sky.objects, sky.images, sky.fields, sky.observers
    copy_rows(
        conn,
        "bench.field",
        ["id", "ra", "dec", "images", "constellation"],
        zip(*(fl[k].tolist() for k in ("id", "ra", "dec", "images", "constellation")), strict=True),
    )
    obj_cols = [
        "id",
        "field",
        "line",
        "catalog",
        "catalog_id",
        "name",
        "ra",
        "dec",
        "mag",
        "bv",
        "jk",
        "variable",
        "always",
    ]
    copy_rows(
        conn, "bench.object_plan", obj_cols, zip(*(o[k].tolist() for k in obj_cols), strict=True)
    )
    limit = _limits(im, sky.depth)
    sha = [im["sha256"][32 * k : 32 * k + 32] for k in range(len(im["id"]))]
    img_cols = [
        "id",
        "field",
        "observer",
        "jd_begin",
        "apertures",
        "saturation",
        "zero_point",
        "filter",
        "seeing",
        "growth",
        "sky",
        "centre_ra",
        "centre_dec",
        "upload_days",
    ]
    rows = zip(*(im[k].tolist() for k in img_cols), limit.tolist(), sha, strict=True)
    copy_rows(
        conn,
        "bench.image_plan",
        [c if c != "observer" else "observer_id" for c in img_cols] + ["lim", "sha256"],
        rows,
    )
    conn.execute("CREATE INDEX ON bench.object_plan (field, mag)")
    conn.execute("ANALYZE bench.object_plan; ANALYZE bench.image_plan")
    copy_rows(
        conn,
        "observer",
        ["id", "username", "provider", "subject", "description", "longitude_deg"],
        zip(
            ob["id"].tolist(),
            ob["username"].tolist(),
            ["google"] * len(ob["id"]),
            ob["subject"].tolist(),
            [""] * len(ob["id"]),
            ob["longitude"].tolist(),
            strict=True,
        ),
    )


def drop_indexes(conn: psycopg.Connection, table: str) -> tuple[list[str], list[str]]:
    """Drop the table's indexes and constraints; return the statements that rebuild them.

    The indexes (run side by side: CREATE INDEX locks share), then the constraints that adopt
    them (``USING INDEX``: no second build).
    """
    rows = conn.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid), c.conname,
               pg_get_constraintdef(c.oid)
        FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid
        WHERE i.indrelid = %s::regclass
        """,
        (table,),
    ).fetchall()
    indexes, constraints = [], []
    for index, indexdef, conname, condef in rows:
        indexes.append(indexdef)
        if conname:
            conn.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                    sql.SQL(table), sql.Identifier(conname)
                )
            )
            kind = condef.split("(")[0].strip()  # PRIMARY KEY or UNIQUE
            constraints.append(
                f"ALTER TABLE {table} ADD CONSTRAINT {conname} {kind} "
                f"USING INDEX {index.split('.')[-1]}"
            )
        else:
            conn.execute(f"DROP INDEX {index}")
    return indexes, constraints


def build_ours(dsn: str, sky: Sky, workers: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        log("staging fields, observers, objects and images")
        stage_sky(conn, sky)
        indexes, constraints = drop_indexes(conn, "public.flux")
    log(f"loading about {sky.expected_fluxes:,} fluxes in {len(sky.chunks)} chunks")
    jobs = [
        [
            ("SELECT setseed(%s)", (((k * 7919) % 10007) / 10007 - 0.5,)),
            (FLUX_CHUNK, {"first": a, "last": b}),
        ]
        for k, (a, b) in enumerate(sky.chunks)
    ]
    run_parallel(dsn, jobs, workers, "fluxes")
    log("flux indexes: " + "; ".join(indexes + constraints))
    run_parallel(dsn, [[(s, None)] for s in indexes], workers, "indexes")
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in constraints:
            conn.execute(statement)
        log("catalogue objects and images, with their flux counts")
        conn.execute(OBJECTS_FROM_PLAN, {"jd_unix": JD_UNIX_EPOCH})
        conn.execute(IMAGES_FROM_PLAN, {"jd_unix": JD_UNIX_EPOCH, "exposure": EXPOSURE_S})
        conn.execute("UPDATE catalogue_totals SET objects = (SELECT count(*) FROM catalog_object)")
        for table in ("observer", "catalog_object", "image"):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        # Statistics first: the seal and the linking plan their joins by them (under the
        # load's stale ones the seal ran for more than ten minutes).
        conn.execute("ANALYZE flux, catalog_object, image, observer")
        log("light-curve chunks (as the ingest's folds seal them)")
        sealed = queries.ingest.seal_chunks(None, 0).value(conn)
        log(f"  {sealed:,} objects sealed")
        log("stars (as the ingest's folds link the objects)")
        with conn.transaction():
            stars = relink_all(conn)
        log(f"  {stars:,} stars")
        log("photometric solutions (as each file's ingest fits them)")
        with conn.transaction():
            solved = solve_stored_images(conn)
        log(f"  {solved:,} images solved")
        log("variability statistics (as the ingest's folds keep them)")
        with conn.transaction():
            used = rebuild_variability(conn)
        log(f"  from {used:,} images")


# --------------------------------------------------------------------------- building the original

ORIGINAL_FILL = """
INSERT INTO users (google_sub, username, description)
SELECT subject, username, description FROM public.observer ORDER BY id;
INSERT INTO space_object (id, name, catalog, catalog_id, catalog_rec, catalog_dec, coordinates,
                          catalog_mag)
SELECT id, name, catalog, catalog_id, bench.ra_text(ra_deg), bench.dec_text(dec_deg),
       ll_to_earth(dec_deg, ra_deg), mag
FROM public.catalog_object ORDER BY id;
INSERT INTO photo_properties (id, exposure_begin, exposure_end)
SELECT id, exposure_begin AT TIME ZONE 'UTC', exposure_end AT TIME ZONE 'UTC'
FROM public.image ORDER BY id;
SELECT setval('space_object_id_seq', (SELECT max(id) FROM space_object));
SELECT setval('photo_properties_id_seq', (SELECT max(id) FROM photo_properties));
"""
ORIGINAL_FLUX_CHUNK = """
INSERT INTO flux (rec, dec, coordinates, ap_auto, ap_auto_dev, object_id, user_id,
                  photo_properties_id, apertures, aperture_devs)
SELECT bench.ra_text(f.ra_deg), bench.dec_text(f.dec_deg), ll_to_earth(f.dec_deg, f.ra_deg),
       coalesce(f.ap_auto, 0.0), coalesce(f.ap_auto_dev, 0.0), f.object_id, ob.subject,
       f.image_id, array_replace(f.ap, NULL, 0.0), array_replace(f.ap_dev, NULL, 0.0)
FROM public.flux f
JOIN public.image i ON i.id = f.image_id
JOIN public.observer ob ON ob.id = i.observer_id
WHERE f.image_id BETWEEN %(first)s AND %(last)s
ORDER BY f.image_id, f.line
"""
ORIGINAL_PATH = "SET search_path = original, public"


def build_original(dsn: str, sky: Sky, workers: int) -> None:
    """The original schema in ``original``, filled from ours; its indexes after the load."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        log("original APhoS schema (docs/original-aphos.md 1.0) and its small tables")
        conn.execute("DROP SCHEMA IF EXISTS original CASCADE")
        conn.execute("DROP EXTENSION IF EXISTS earthdistance CASCADE")
        conn.execute("CREATE SCHEMA original")
        conn.execute(ORIGINAL_PATH)
        conn.execute(ORIGINAL_TABLES)
        conn.execute(ORIGINAL_FILL)
    log(f"original fluxes in {len(sky.chunks)} chunks")
    # The rows are consistent by construction: skip the per-row foreign-key triggers.
    setup = [ORIGINAL_PATH, "SET session_replication_role = replica"]
    jobs = [[(ORIGINAL_FLUX_CHUNK, {"first": a, "last": b})] for a, b in sky.chunks]
    run_parallel(dsn, jobs, workers, "original fluxes", setup)
    log("original indexes")
    run_parallel(
        dsn, [[(s, None)] for s in ORIGINAL_INDEXES], workers, "original indexes", [ORIGINAL_PATH]
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT setval('original.flux_id_seq', (SELECT max(id) FROM original.flux))")
        conn.execute("GRANT USAGE ON SCHEMA original TO aphos_reader")
        conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA original TO aphos_reader")


# --------------------------------------------------------------------------- the database


def read_meta(dsn: str) -> dict[str, Any]:
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            return dict(conn.execute("SELECT key, value FROM bench.meta").fetchall())
    except (
        psycopg.errors.UndefinedTable,
        psycopg.errors.InvalidSchemaName,
        psycopg.OperationalError,
    ):
        return {}


def build(home: Path, plan: Plan, workers: int) -> dict[str, Any]:
    """A fresh database for ``plan``: ours, the original, VACUUM ANALYZE, the meta row."""
    started = time.perf_counter()
    server = EmbeddedPostgres(home)
    server.stop()
    status = EmbeddedPostgres(home, settings=BUILD_SETTINGS).start()
    with psycopg.connect(server.superuser_dsn(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DBNAME} WITH (FORCE)")
    embedded_catalogue(home, dbname=DBNAME).dispose()
    dsn = server.superuser_dsn(DBNAME)
    log(f"building {plan.fluxes:,} fluxes in {home} (PostgreSQL {status.version})")
    sky = make_sky(plan)
    log(
        f"{len(sky.images['id']):,} images; limiting magnitude {sky.depth:.2f} + observer "
        f"and image scatter"
    )
    build_ours(dsn, sky, workers)
    build_original(dsn, sky, workers)
    log("VACUUM ANALYZE")
    tables = [
        "public.flux",
        "original.flux",
        "public.catalog_object",
        "public.image",
        "public.observer",
        "public.catalogue_totals",
        "public.light_curve_chunk",
        "public.image_solution",
        "public.object_variability",
        "original.space_object",
        "original.photo_properties",
        "original.users",
    ]
    run_parallel(dsn, [[(f"VACUUM (ANALYZE) {t}", None)] for t in tables], workers, "vacuum")
    info = {
        "build_s": round(time.perf_counter() - started, 1),
        "pair": list(sky.pair),
        "centre": list(GK_CEP),
        "depth": sky.depth,
    }
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE bench.object_plan, bench.image_plan")
        conn.execute(
            "INSERT INTO bench.meta VALUES ('plan', %s), ('built', %s)",
            (json.dumps(plan.key()), json.dumps(info)),
        )
        conn.execute("CHECKPOINT")
    server.stop()
    log(f"built in {info['build_s']:.0f} s")
    return info


def open_database(home: Path, plan: Plan, workers: int, rebuild: bool) -> tuple[Catalogue, dict]:
    """The benchmark database with normal settings, built first unless it holds ``plan``."""
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o755)
    server = EmbeddedPostgres(home)
    if server.status().running:
        with psycopg.connect(server.superuser_dsn(), autocommit=True) as conn:
            if conn.execute("SHOW fsync").fetchone()[0] == "off":
                server.stop()  # left over from an interrupted build
    server.start()
    meta = read_meta(server.superuser_dsn(DBNAME))
    if rebuild or meta.get("plan") != plan.key() or "built" not in meta:
        if meta and not rebuild:
            log(f"the database under {home} holds another plan: rebuilding")
        info = build(home, plan, workers)
        server.start()
    else:
        info = meta["built"]
        log(f"reusing the database under {home} (built in {info['build_s']:.0f} s)")
    return embedded_catalogue(home, dbname=DBNAME), info


def database_facts(conn: psycopg.Connection, pair: Sequence[int]) -> dict[str, Any]:
    facts = {
        "objects": "SELECT count(*) FROM catalog_object",
        "fluxes": "SELECT sum(flux_count) FROM image",
        "images": "SELECT count(*) FROM image",
        "busiest_field_images": "SELECT max(images) FROM bench.field",
        "pair_common_images": "SELECT count(*) FROM flux a JOIN flux b USING (image_id) "
        "WHERE a.object_id = %s AND b.object_id = %s",
        "database_bytes": "SELECT pg_database_size(current_database())",
        "flux_bytes": "SELECT pg_total_relation_size('public.flux')",
        "original_flux_bytes": "SELECT pg_total_relation_size('original.flux')",
        "original_fluxes": "SELECT count(*) FROM original.flux",
    }
    out = {}
    for key, query in facts.items():
        out[key] = int(conn.execute(query, tuple(pair) if "%s" in query else None).fetchone()[0])
    labels = conn.execute(
        "SELECT catalog || ':' || catalog_id FROM catalog_object WHERE id = ANY(%s) ORDER BY id",
        (list(pair),),
    ).fetchall()
    out["pair"] = [r[0] for r in labels]
    return out


# --------------------------------------------------------------------------- the queries


@dataclass
class Case:
    """One question asked of both: our call, the original's SQL and parameters."""

    name: str
    conn: psycopg.Connection
    call: Callable[[Any], Any]  # ours, given a connection
    original: Callable[[], Any]
    p95_ms: float
    ratio: float
    original_runs: int | None = None  # a baseline too slow for every run: this many

    def ours(self) -> Any:
        return self.call(self.conn)


def search_cases(conn, orig, args, centre) -> list[Case]:
    ra, dec = centre
    lo, hi = args.mag_range
    cone = original_search_sql(cone=True)
    by_name = original_search_sql(name=True)
    by_mag = original_search_sql(mag=True)
    cone_args = (Float4(dec), Float4(ra), Float4(args.radius))

    def fetch(query: str, params) -> Callable[[], list]:
        return lambda: orig.execute(query, params).fetchall()

    return [
        Case(
            f"cone {args.radius:g} deg, busiest field",
            conn,
            lambda c: search_objects(c, ra=ra, dec=dec, radius=args.radius),
            fetch(cone, cone_args),
            5.0,
            100.0,
        ),
        Case(
            f"magnitude {lo:g}-{hi:g}",
            conn,
            lambda c: search_objects(c, min_mag=lo, max_mag=hi),
            fetch(by_mag, (Float4(lo), Float4(hi))),
            5.0,
            100.0,
        ),
        Case(
            f"name contains '{args.name}'",
            conn,
            lambda c: search_objects(c, name=args.name),
            fetch(by_name, (f"%{args.name}%",)),
            5.0,
            100.0,
        ),
        Case(
            "unfiltered first page",
            conn,
            lambda c: search_objects(c),
            fetch(by_mag, (Float4(0.0), Float4(15.0))),
            5.0,
            100.0,
        ),
    ]


def light_curve_case(
    conn, orig, labels: Sequence[str], pair: Sequence[int], common: int
) -> Case | None:
    try:
        from aphos_lib.photometry import differential_photometry
    except ImportError as exc:
        log(f"light curve not timed: {exc}")
        return None

    def ours(c):
        curve = differential_photometry(c, labels[0], labels[1])
        return curve.data

    def original():
        rows = orig.execute(ORIGINAL_COMPARISON, tuple(pair)).fetchall()
        return rows, original_magnitudes(rows)

    return Case(f"light curve, {common:,} common images", conn, ours, original, 20.0, 3.0)


def calibrated_case(conn, orig, labels: Sequence[str], pair: Sequence[int]) -> Case | None:
    """The variable's calibrated curve (no comparison star: each image's solution); the
    original, which had no calibration, gives magnitudes only against a comparison: its pair
    query."""
    try:
        from aphos_lib.calibrated_photometry import calibrated_photometry
    except ImportError as exc:
        log(f"calibrated curve not timed: {exc}")
        return None

    def ours(c):
        return calibrated_photometry(c, labels[0]).data

    def original():
        rows = orig.execute(ORIGINAL_COMPARISON, tuple(pair)).fetchall()
        return rows, original_magnitudes(rows)

    return Case("calibrated curve of one star", conn, ours, original, 20.0, 1.0)


FINDER_SCAN = """
SELECT f.object_id, count(*), stddev(-2.5 * log(f.ap_auto)), avg(-2.5 * log(f.ap_auto))
FROM public.flux f JOIN public.catalog_object o ON o.id = f.object_id
WHERE point(o.ra_deg, o.dec_deg) <@ box(point(%(w)s, %(s)s), point(%(e)s, %(n)s))
  AND f.ap_auto > 0 AND NOT f.ap_auto_saturated
GROUP BY f.object_id
"""


def finder_case(conn, orig, centre: Sequence[float]) -> Case | None:
    """The variable finder over the busiest field (1 degree); the baseline is what it would
    take without the kept statistics: one scan of the field's fluxes, grouped per object
    (instrumental magnitudes only, in the field's bounding box)."""
    try:
        from aphos_lib.variable_finder import find_variables
    except ImportError as exc:
        log(f"variable finder not timed: {exc}")
        return None
    ra, dec = centre
    (box,) = queries.objects.cone_boxes(ra, dec, 1.0)
    scan = {"w": box[0], "s": box[1], "e": box[2], "n": box[3]}

    def ours(c):
        return find_variables(c, ra=ra, dec=dec, radius=1.0).frame

    def scan_fluxes():
        return orig.execute(FINDER_SCAN, scan).fetchall()

    return Case("variable finder, busiest field", conn, ours, scan_fluxes, 50.0, 1.0, 5)


def check_calibrated(case: Case) -> str:
    data = case.ours()
    m = np.asarray(data["magnitude"], dtype=float)
    return (
        f"calibrated curve: {len(data)} images, {int(np.isfinite(m).sum())} magnitudes, "
        f"{np.nanmin(m):.3f}-{np.nanmax(m):.3f} mag"
    )


def check_finder(case: Case, labels: Sequence[str]) -> str:
    frame = case.ours()
    variable = labels[0].replace(":", " ")
    rank = frame.loc[frame["label"] == variable, "rank"]
    return (
        f"variable finder: {len(frame)} stars ranked, the field's variable {variable} at rank "
        f"{int(rank.iloc[0]) if len(rank) else 'none'}; the scan without kept statistics "
        f"groups {len(case.original())} objects' fluxes"
    )


ENSEMBLE_SIZE = 15


def ensemble_members(conn, pair: Sequence[int], n: int) -> list[tuple[int, str]]:
    """``n`` comparison stars and a check star for the variable: the stars of its field
    (within 0.5 degree) between 9.5 and 12.5 mag (unsaturated), measured in most images."""
    return conn.execute(
        "SELECT o.id, o.catalog || ':' || o.catalog_id FROM catalog_object o, "
        "(SELECT ra_deg, dec_deg FROM catalog_object WHERE id = %s) v "
        "WHERE o.id <> ALL(%s) AND o.mag BETWEEN 9.5 AND 12.5 "
        "AND o.dec_deg BETWEEN v.dec_deg - 0.5 AND v.dec_deg + 0.5 "
        "AND o.ra_deg BETWEEN v.ra_deg - 0.5 / cosd(v.dec_deg) "
        "AND v.ra_deg + 0.5 / cosd(v.dec_deg) "
        "ORDER BY o.flux_count DESC, o.id LIMIT %s",
        (pair[0], list(pair), n + 1),
    ).fetchall()


def ensemble_case(conn, orig, labels: Sequence[str], pair: Sequence[int]) -> Case | None:
    """A 15-comparison ensemble with a check star: ours in one call; the original, which had
    no ensembles, as its client would get it: one comparison query per star (variable against
    each comparison and against the check star), summed by the caller."""
    try:
        from aphos_lib.photometry import differential_photometry
    except ImportError as exc:
        log(f"ensemble not timed: {exc}")
        return None
    members = ensemble_members(conn, pair, ENSEMBLE_SIZE)
    if len(members) < ENSEMBLE_SIZE + 1:
        log(f"ensemble not timed: only {len(members)} stars of 9.5-12.5 mag in the field")
        return None
    comparisons = [label for _, label in members[:ENSEMBLE_SIZE]]
    check = members[ENSEMBLE_SIZE][1]

    def ours(c):
        return differential_photometry(c, labels[0], comparisons, check=check).data

    def original():
        return [
            orig.execute(ORIGINAL_COMPARISON, (pair[0], star)).fetchall() for star, _ in members
        ]

    return Case(
        f"ensemble of {ENSEMBLE_SIZE} + check star",
        conn,
        ours,
        original,
        30.0,
        3.0,
    )


def check_ensemble(case: Case) -> str:
    """Our ensemble's magnitudes against those summed from the original's pair queries."""
    data = case.ours()
    *per_comparison, _check = case.original()
    by_image = []  # per comparison: {(observer, exposure begin): (variable flux, its flux)}
    for rows in per_comparison:
        by_image.append({(r[10], r[11]): (r[2], r[4]) for r in rows})
    common = set.intersection(*(set(b) for b in by_image))
    variable = np.array([by_image[0][t][0] for t in sorted(common)], dtype=float)
    summed = np.array([sum(b[t][1] for b in by_image) for t in sorted(common)], dtype=float)
    usable = (variable > 0) & (summed > 0)  # the original stores saturated values as 0.0
    theirs = np.sort(-2.5 * np.log10(variable[usable] / summed[usable]))
    ours = np.sort(np.asarray(data["magnitude"], dtype=float))
    diff = float(np.max(np.abs(ours - theirs))) if len(ours) == len(theirs) else float("nan")
    return (
        f"ensemble: ours {len(data)} points, summed from the original's {len(per_comparison)} "
        f"pair queries {len(theirs)}; largest magnitude difference {diff:.2g}; check star "
        f"measured in {int(np.isfinite(data['check_magnitude']).sum())} of them"
    )


def check_searches(conn, orig, args, centre, cases: list[Case]) -> list[str]:
    """Do ours and the original answer the same questions? Counts and flux counts compared."""
    ra, dec = centre
    lo, hi = args.mag_range
    notes = []
    cone = cases[0].ours()
    exact = orig.execute(
        "SELECT count(*) FROM space_object WHERE earth_distance("
        "ll_to_earth(%s, %s), coordinates) <= %s",
        (dec, ra, args.radius),
    ).fetchone()[0]
    box = orig.execute(
        "SELECT count(*) FROM space_object WHERE "
        "earth_box(ll_to_earth(%s, %s), %s) @> space_object.coordinates",
        (Float4(dec), Float4(ra), Float4(args.radius)),
    ).fetchone()[0]
    inside = orig.execute(
        "SELECT count(*) FROM space_object WHERE catalog_id = ANY(%s) AND "
        "earth_box(ll_to_earth(%s, %s), %s) @> coordinates",
        (cone.frame["catalog_id"].tolist(), Float4(dec), Float4(ra), Float4(args.radius)),
    ).fetchone()[0]
    rows = cases[0].original()
    notes.append(
        f"cone: ours {cone.total} objects within {args.radius:g} deg (page of "
        f"{len(cone)}, nearest first), the exact cone by earth_distance {exact}; the "
        f"original's box holds {box}, corners up to {args.radius * 3**0.5:.2f} deg "
        f"(it returns {len(rows)} of them, unordered); all of our page in the box: "
        f"{inside == len(cone)}; the flux counts it returns equal ours: "
        f"{_same_flux_counts(conn, rows)}"
    )
    count_sql = {
        "magnitude": (
            "SELECT count(*) FROM space_object WHERE catalog_mag BETWEEN %s AND %s",
            (Float4(lo), Float4(hi)),
            cases[1],
        ),
        "name": (
            "SELECT count(*) FROM space_object WHERE name LIKE %s",
            (f"%{args.name}%",),
            cases[2],
        ),
        "unfiltered": (
            "SELECT count(*) FROM space_object WHERE catalog_mag BETWEEN 0 AND 15",
            None,
            cases[3],
        ),
    }
    for label, (query, params, case) in count_sql.items():
        ours = case.ours()
        theirs = orig.execute(query, params).fetchone()[0]
        rows = case.original()
        same = _same_flux_counts(conn, rows)
        extra = " (the original hides mag > 15 and NULL)" if label == "unfiltered" else ""
        notes.append(
            f"{label}: ours {ours.total} matches, the original's WHERE {theirs}{extra}; "
            f"it returns {len(rows)}; their flux counts equal ours: {same}"
        )
    return notes


def _same_flux_counts(conn, rows: Sequence[tuple]) -> bool:
    """The original's count(flux.id) of each row against our maintained flux_count."""
    counts = dict(
        conn.execute(
            "SELECT id, flux_count FROM catalog_object WHERE id = ANY(%s)", ([r[0] for r in rows],)
        ).fetchall()
    )
    return all(counts.get(r[0]) == r[7] for r in rows)


def check_light_curve(case: Case) -> str:
    data = case.ours()
    rows, (magnitude, _) = case.original()
    ours = np.sort(np.asarray(data["magnitude"], dtype=float))
    theirs = np.sort(magnitude.astype(float))
    diff = float(np.max(np.abs(ours - theirs))) if len(ours) == len(theirs) else float("nan")
    return (
        f"light curve: ours {len(data)} points, the original {len(rows)} rows; largest "
        f"magnitude difference {diff:.2g} (the original computes in float32)"
    )


# --------------------------------------------------------------------------- timing


@dataclass
class Timing:
    runs: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def p95(self) -> float:
        return float(np.percentile(self.runs, 95))


def measure(fn: Callable[[], Any], runs: int, warmup: int) -> Timing:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return Timing(times)


class Recorder:
    """A connection that notes every statement sent through it (``execute`` on it or on its
    cursors), with the cursor's options, so that they can be replayed."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.statements: list[tuple[dict, Any, Any]] = []

    def execute(self, query, params=None):
        return self.cursor().execute(query, params)

    def cursor(self, **options) -> Any:
        recorder, cursor = self, self.conn.cursor(**options)

        class Recording:
            def execute(self, query, params=None):
                recorder.statements.append((options, query, params))
                return cursor.execute(query, params)

        return Recording()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def sql_alone(case: Case) -> Callable[[], Any]:
    """The statements our call sends, replayed and fetched as the original's SQL is: the
    database's share of our time, without building Python results."""
    recorder = Recorder(case.conn)
    case.call(recorder)
    conn, statements = case.conn, recorder.statements
    return lambda: [conn.cursor(**o).execute(q, p).fetchall() for o, q, p in statements]


def report_sql(cases: list[Case], sql_times: list[Timing], theirs: list[Timing]) -> list[dict]:
    """Our SQL alone against the original's SQL (information: the targets are end to end)."""
    print(
        "the database's share: the statements of each of ours replayed alone "
        "(execute + fetch, like the original's)"
    )
    print(f"{'query':36}{'median':>9}{'p95':>8}{'original/our SQL':>22}")
    rows = []
    for case, a, b in zip(cases, sql_times, theirs, strict=True):
        ratio, ratio95 = b.median / a.median, b.p95 / a.p95
        print(
            f"{case.name:36}{a.median:>9.3f}{a.p95:>8.3f}{_times(ratio):>12}{_times(ratio95):>10}"
        )
        rows.append(
            {
                "query": case.name,
                "sql_median_ms": a.median,
                "sql_p95_ms": a.p95,
                "ratio_median": ratio,
                "ratio_p95": ratio95,
            }
        )
    return rows


def report(cases: list[Case], ours: list[Timing], theirs: list[Timing]) -> list[dict]:
    print(f"{'':36}{'APhoS ms':>17}{'original ms':>20}{'original/APhoS':>18}")
    print(
        f"{'query':36}{'median':>9}{'p95':>8}{'median':>12}{'p95':>8}{'median':>10}"
        f"{'p95':>8}   targets"
    )
    rows = []
    for case, a, b in zip(cases, ours, theirs, strict=True):
        ratio, ratio95 = b.median / a.median, b.p95 / a.p95
        met_p95, met_ratio = a.p95 < case.p95_ms, ratio >= case.ratio
        print(
            f"{case.name:36}{a.median:>9.2f}{a.p95:>8.2f}{b.median:>12.1f}{b.p95:>8.1f}"
            f"{_times(ratio):>10}{_times(ratio95):>8}   p95 < {case.p95_ms:g} ms "
            f"{'yes' if met_p95 else 'NO'}, >= {case.ratio:g}x "
            f"{'yes' if met_ratio else 'NO'}"
        )
        rows.append(
            {
                "query": case.name,
                "ours_median_ms": a.median,
                "ours_p95_ms": a.p95,
                "original_median_ms": b.median,
                "original_p95_ms": b.p95,
                "ratio_median": ratio,
                "ratio_p95": ratio95,
                "target_p95_ms": case.p95_ms,
                "target_ratio": case.ratio,
                "p95_met": met_p95,
                "ratio_met": met_ratio,
                "ours_runs_ms": a.runs,
                "original_runs_ms": b.runs,
            }
        )
    return rows


def _times(ratio: float) -> str:
    return f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.1f}x"


def parse_count(text: str) -> int:
    """``10M``, ``30m``, ``2.5M``, ``500k`` or a plain number."""
    scale = {"k": 10**3, "m": 10**6}.get(text[-1].lower(), 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--fluxes",
        type=parse_count,
        default=parse_count("10M"),
        help="fluxes to generate: 10M (default) or 30M",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--home",
        type=Path,
        default=Path("var/bench-queries"),
        help="the embedded PostgreSQL's home (reused when it holds the plan)",
    )
    parser.add_argument("--rebuild", action="store_true", help="build the database afresh")
    parser.add_argument("--jobs", type=int, default=2, help="connections loading in parallel")
    parser.add_argument("--runs", type=int, default=50, help="timed runs of each of ours")
    parser.add_argument(
        "--original-runs", type=int, default=50, help="timed runs of each original query"
    )
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--radius", type=float, default=0.5, help="cone radius, degrees")
    parser.add_argument("--mag-range", type=float, nargs=2, default=(12.0, 13.0))
    parser.add_argument("--name", default="Cep", help="name substring to search")
    parser.add_argument(
        "--keep-running", action="store_true", help="leave the server running afterwards"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="WORD",
        help="time only the cases whose names contain one of these words (e.g. ensemble)",
    )
    args = parser.parse_args()

    plan = Plan(fluxes=args.fluxes, seed=args.seed)
    home = args.home.resolve()
    catalogue, info = open_database(home, plan, args.jobs, args.rebuild)
    try:
        with (
            catalogue.connect("reader", autocommit=True) as conn,
            catalogue.connect("reader", autocommit=True) as orig,
        ):
            orig.execute(ORIGINAL_PATH)
            # The original had no time limit; at 30 million fluxes its cone outlasts the read
            # role's on a cold cache.
            orig.execute("SET statement_timeout = 0")
            superuser = EmbeddedPostgres(home).superuser_dsn(DBNAME)
            with psycopg.connect(superuser, autocommit=True) as su:
                facts = database_facts(su, info["pair"])
            version, buffers = (
                conn.execute(f"SHOW {s}").fetchone()[0]
                for s in ("server_version", "shared_buffers")
            )
            print(
                f"database: {facts['objects']:,} objects, {facts['fluxes']:,} fluxes "
                f"(original: {facts['original_fluxes']:,}), {facts['images']:,} images, "
                f"busiest field {facts['busiest_field_images']:,} images; light-curve pair "
                f"{facts['pair'][0]} / {facts['pair'][1]} in {facts['pair_common_images']:,} "
                f"common images"
            )
            print(
                f"on disk {facts['database_bytes'] / 2**30:.1f} GiB (flux "
                f"{facts['flux_bytes'] / 2**30:.1f} GiB, original flux "
                f"{facts['original_flux_bytes'] / 2**30:.1f} GiB); built in "
                f"{info['build_s']:.0f} s; PostgreSQL {version}, normal embedded settings "
                f"(shared_buffers {buffers}); load average {os.getloadavg()[0]:.1f}; "
                f"{args.runs} runs of ours, {args.original_runs} of the original, after "
                f"{args.warmup} warm-up runs"
            )
            cases = search_cases(conn, orig, args, info["centre"])
            notes = check_searches(conn, orig, args, info["centre"], cases)
            curve = light_curve_case(
                conn, orig, facts["pair"], info["pair"], facts["pair_common_images"]
            )
            if curve:
                cases.append(curve)
                notes.append(check_light_curve(curve))
            ensemble = ensemble_case(conn, orig, facts["pair"], info["pair"])
            if ensemble:
                cases.append(ensemble)
                notes.append(check_ensemble(ensemble))
            calibrated = calibrated_case(conn, orig, facts["pair"], info["pair"])
            if calibrated:
                cases.append(calibrated)
                notes.append(check_calibrated(calibrated))
            finder = finder_case(conn, orig, info["centre"])
            if finder:
                cases.append(finder)
                notes.append(check_finder(finder, facts["pair"]))
            for note in notes:
                print("check " + note)
            if args.only:
                cases = [c for c in cases if any(word in c.name for word in args.only)]
            ours, ours_sql, theirs = [], [], []
            for case in cases:
                log(f"timing {case.name}")
                ours.append(measure(case.ours, args.runs, args.warmup))
                ours_sql.append(measure(sql_alone(case), args.runs, args.warmup))
                runs = min(args.original_runs, case.original_runs or args.original_runs)
                theirs.append(measure(case.original, runs, min(args.warmup, 2)))
            rows = report(cases, ours, theirs)
            sql_rows = report_sql(cases, ours_sql, theirs)
            print(
                f"load average {' '.join(f'{v:.1f}' for v in os.getloadavg())} "
                f"({os.cpu_count()} cores)"
            )
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "plan": plan.key(),
                        "build": info,
                        "database": facts,
                        "checks": notes,
                        "results": rows,
                        "sql_alone": sql_rows,
                    },
                    indent=2,
                )
            )
    finally:
        catalogue.dispose()
        if not args.keep_running:
            EmbeddedPostgres(home).stop()


if __name__ == "__main__":
    main()
