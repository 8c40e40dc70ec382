"""Storing SIPS files: exact outcomes, values, duplicates, concurrency and a kill mid-file."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import psycopg
import pytest
from sqlalchemy.engine import make_url

from aphos_lib import ingest as ingest_module
from aphos_lib.db.catalogue import Catalogue
from aphos_lib.ingest import (
    FileOutcome,
    ObjectCache,
    fold_flux_counts,
    ingest_file,
    ingest_files,
    ingest_parsed,
)
from aphos_lib.io import repeats
from aphos_lib.io.repeats import find_sources
from aphos_lib.io.sips import RejectedRow, read_sips
from aphos_lib.object_ids import _read_area, _sky_area
from aphos_lib.observers import ensure_local_observer

from conftest import CORRECT_FILE_UNLINKED, FIXTURE_OUTCOMES, FIXTURES, fixture_path

pytestmark = pytest.mark.catalogue

REPO = Path(__file__).resolve().parents[1]
EXPECTED = FIXTURE_OUTCOMES


def counts(conn: psycopg.Connection) -> dict[str, int]:
    """Images, fluxes, fluxes SIPS matched to a catalogue star, catalogue objects (APhoS
    sources aside); ``sources`` counts the APhoS sources, ``sourced`` their fluxes."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM image), (SELECT count(*) FROM flux),"
        " (SELECT count(*) FROM flux f JOIN catalog_object o ON o.id = f.object_id"
        "  WHERE o.catalog <> 'APHOS'),"
        " (SELECT count(*) FROM catalog_object WHERE catalog <> 'APHOS')"
    ).fetchone()
    return dict(zip(("images", "fluxes", "matched", "objects"), row, strict=True))


def sources(conn: psycopg.Connection) -> tuple[int, int]:
    """The APhoS sources and their fluxes."""
    return conn.execute(
        "SELECT count(DISTINCT o.id), count(f.object_id) FROM catalog_object o"
        " LEFT JOIN flux f ON f.object_id = o.id WHERE o.catalog = 'APHOS'"
    ).fetchone()


def assert_maintained_counts_are_exact(conn: psycopg.Connection) -> None:
    """Each object's flux_count and the catalogue's object total equal a fresh count."""
    wrong = conn.execute(
        "SELECT o.catalog_id, o.flux_count, count(f.object_id) FROM object_totals o"
        " LEFT JOIN flux f ON f.object_id = o.id GROUP BY o.id, o.catalog_id, o.flux_count"
        " HAVING o.flux_count <> count(f.object_id)"
    ).fetchall()
    assert wrong == []
    totals, objects = conn.execute(
        "SELECT (SELECT objects FROM catalogue_totals), (SELECT count(*) FROM catalog_object)"
    ).fetchone()
    assert totals == objects
    # Every object in one star; each star's count the sum of its members'.
    wrong_stars = conn.execute(
        "SELECT s.id, s.flux_count, sum(t.flux_count) FROM star s"
        " JOIN catalog_object o ON o.star_id = s.id JOIN object_totals t ON t.id = o.id"
        " GROUP BY s.id HAVING s.flux_count <> sum(t.flux_count) OR s.members <> count(*)"
    ).fetchall()
    assert wrong_stars == []
    unlinked, stars, counted = conn.execute(
        "SELECT (SELECT count(*) FROM catalog_object o WHERE NOT EXISTS"
        "  (SELECT 1 FROM star s WHERE s.id = o.star_id)),"
        " (SELECT stars FROM catalogue_totals), (SELECT count(*) FROM star)"
    ).fetchone()
    assert (unlinked, stars) == (0, counted)


def distinct_stars(sips) -> int:
    """How many different catalogue stars a file's rows were matched to."""
    pairs = zip(sips.rows["catalog"].to_pylist(), sips.rows["catalog_id"].to_pylist(), strict=True)
    return len({p for p in pairs if p[1] is not None})


def observer(conn: psycopg.Connection, name: str = "novak") -> int:
    with conn.transaction():
        return ensure_local_observer(conn, name)


def test_each_fixture_file_gives_its_documented_outcome(catalogue: Catalogue):
    paths = [fixture_path(n) for n in EXPECTED]
    outcomes = ingest_files(catalogue, paths, observer="novak")
    for outcome in outcomes:
        status, fluxes, matched, unmatched, lines = EXPECTED[outcome.file]
        assert (outcome.status, outcome.fluxes, outcome.matched, outcome.unmatched) == (
            status,
            fluxes,
            matched,
            unmatched,
        ), outcome.file
        assert [r.line for r in outcome.rejected_rows] == lines
    rejected = {o.file: o.error for o in outcomes if o.status == "rejected"}
    assert rejected == {
        "incorrect_missing_initial_info.csv": "incorrect_missing_initial_info.csv: missing "
        "header lines ExposureBegin and ExposureEnd",
        "scheme_missing.csv": "scheme_missing.csv: no table header row was found (a line "
        "naming the columns, with at least RA, Dec, ApAuto, such as "
        "'Name;X;Y;ADU;RA;Dec;...;ApAuto;Ap1;...')",
    }
    with catalogue.connect("reader") as conn:
        per_image = dict(
            conn.execute(
                "SELECT i.filename, count(f.*) FROM image i JOIN flux f ON f.image_id = i.id "
                "GROUP BY i.filename"
            ).fetchall()
        )
        assert per_image == {n: e[1] for n, e in EXPECTED.items() if e[0] == "stored"}
        total = counts(conn)
        assert total["fluxes"] == 2671 + 1 + 178 + 66
        assert total["fluxes"] - total["matched"] == 658 + 26
        recorded = conn.execute(
            "SELECT filename, status, fluxes, matched, unmatched, rejected_rows, error, "
            "rejected_count, warnings, warning_count FROM upload_file ORDER BY position"
        ).fetchall()
        assert [(r[0], r[1], r[2]) for r in recorded] == [
            (n, e[0], e[1]) for n, e in EXPECTED.items()
        ]
        few = next(r for r in recorded if r[0] == "few_lines_incorrect.csv")
        assert [x["line"] for x in few[5]] == [32, 35] and few[7] == 2
        correct = next(r for r in recorded if r[0] == "correct_file.csv")
        assert (correct[5], correct[7], correct[9]) == ([], 0, 26)
        assert [int(w.split(":")[0].removeprefix("line ")) for w in correct[8]] == (
            CORRECT_FILE_UNLINKED
        )
        assert correct[8][11] == (
            "line 2432: a second source matched to UCAC4 780-040810 "
            "(line 2546 is nearer); stored without the catalogue match"
        )
        assert conn.execute("SELECT state FROM upload").fetchone()[0] == "partial"


def test_stored_values_equal_the_file_saturation_is_a_flag_and_nothing_is_zero(writer):
    oid = observer(writer)
    ingest_file(writer, fixture_path("correct_file.csv"), observer_id=oid)
    frame = read_sips(fixture_path("correct_file.csv")).to_pandas().set_index("line")
    rows = writer.execute(
        "SELECT f.line, f.ra_deg, f.dec_deg, f.x, f.adu, f.ap_auto, f.ap_auto_dev,"
        " f.ap_auto_saturated, f.ap, f.ap_dev, f.ap_saturated, o.catalog"
        " FROM flux f JOIN catalog_object o ON o.id = f.object_id ORDER BY line"
    ).fetchall()
    assert len(rows) == 2671
    saturated_values = 0
    for line, ra, dec, x, adu, auto, auto_dev, auto_sat, ap, ap_dev, ap_sat, obj in rows:
        ref = frame.loc[line]
        assert (ra, dec, x, adu) == (ref.ra_deg, ref.dec_deg, ref.x, ref.adu)
        assert auto_sat == ref.ap_auto_saturated
        assert (auto is None) == math.isnan(ref.ap_auto)
        if auto is not None:
            assert auto == ref.ap_auto
        assert auto_dev is None  # this export has no deviation columns: NULL, never 0
        assert ap_dev == [None] * 10
        for k in range(10):
            assert ap_sat[k] == ref[f"ap{k + 1}_saturated"]
            assert (ap[k] is None) == ap_sat[k]  # this file has no empty fluxes
            saturated_values += ap_sat[k]
        saturated_values += auto_sat
        # A second source of a star is stored without the match (its nearer one has it):
        # like the rows SIPS matched to nothing, it is an APhoS source.
        assert (obj == "APHOS") == (
            not isinstance(ref.catalog_id, str) or line in CORRECT_FILE_UNLINKED
        )
    raw = fixture_path("correct_file.csv").read_bytes()
    assert saturated_values == raw.count(b"saturated")


def test_objects_are_keyed_by_catalogue_and_id_with_catalogue_values(writer):
    oid = observer(writer)
    ingest_file(writer, fixture_path("correct_file.csv"), observer_id=oid)
    gk = writer.execute(
        "SELECT name, ra_deg, dec_deg, mag, bv, jk FROM catalog_object "
        "WHERE catalog = 'UCAC4' AND catalog_id = '805-031770'"
    ).fetchone()
    # CatalogRA 21 30 59.150, CatalogDec +70 49 23.58 in the file.
    assert gk[0] == "GK Cep"
    assert gk[1] == pytest.approx(15 * (21 + 30 / 60 + 59.150 / 3600), abs=1e-9)
    assert gk[2] == pytest.approx(70 + 49 / 60 + 23.58 / 3600, abs=1e-9)
    assert gk[3:] == (8.42, 0.09, 0.01)
    assert counts(writer)["objects"] == distinct_stars(read_sips(fixture_path("correct_file.csv")))


def test_header_is_stored_losslessly_with_times_in_utc(writer):
    oid = observer(writer)
    outcome = ingest_file(writer, fixture_path("correct_file.csv"), observer_id=oid)
    image = writer.execute(
        "SELECT header, exposure_begin, exposure_mid, exposure_time_s, jd_mid, hjd, filter,"
        " center_dec_deg, columns, apertures, encoding, encode(sha256, 'hex') FROM image"
        " WHERE id = %s",
        (outcome.image_id,),
    ).fetchone()
    raw = fixture_path("correct_file.csv").read_bytes().decode("iso-8859-1").split("\r\n")
    rebuilt = [k if v is None else f"{k};{v}" for k, v in image[0]]
    assert rebuilt == raw[:23]
    assert image[1].isoformat() == "2021-11-06T16:27:45.652000+00:00"
    assert image[2].isoformat() == "2021-11-06T16:28:30.652500+00:00"
    assert image[3:8] == (90.0, 2459525.18646589, 2459525.18849643, "V", 68.55960964)
    assert image[8] == raw[23].split(";") and image[9] == 10
    assert image[10] == "iso-8859-1"
    import hashlib

    assert image[11] == hashlib.sha256(fixture_path("correct_file.csv").read_bytes()).hexdigest()


def test_declinations_just_south_of_the_equator_stay_south(writer):
    text = (
        "ExposureBegin;2021-11-06T16:27:45\nExposureEnd;2021-11-06T16:29:15\n"
        "Name;RA;Dec;Catalog;CatalogId;CatalogRA;CatalogDec;ApAuto\n"
        ";05 00 00.0;-00 10 00.0;UCAC4;450-000001;05 00 00.0;-00 10 00.0;100\n"
        ";05 00 00.0;+00 30 00.0;UCAC4;451-000001;05 00 00.0;+00 30 00.0;100\n"
    )
    ingest_file(writer, text.encode(), observer_id=observer(writer), name="equator.csv")
    decs = writer.execute("SELECT dec_deg FROM flux ORDER BY line").fetchall()
    assert [d for (d,) in decs] == [pytest.approx(-10 / 60), pytest.approx(0.5)]
    objs = writer.execute("SELECT dec_deg FROM catalog_object ORDER BY catalog_id").fetchall()
    assert [d for (d,) in objs] == [pytest.approx(-10 / 60), pytest.approx(0.5)]


def test_a_star_stored_without_a_name_takes_the_first_name_a_later_file_gives(
    catalogue: Catalogue, tmp_path
):
    def image(minute: int, name: str) -> Path:
        path = tmp_path / f"m{minute}.csv"
        path.write_text(
            f"ExposureBegin;2021-11-06T16:{minute:02d}:00\n"
            f"ExposureEnd;2021-11-06T16:{minute:02d}:30\n"
            "Name;RA;Dec;Catalog;CatalogId;CatalogRA;CatalogDec;ApAuto\n"
            f"{name};05 00 00.0;+10 00 00.0;UCAC4;500-000001;05 00 00.0;+10 00 00.0;100\n"
        )
        return path

    def stored() -> tuple:
        with catalogue.connect("reader") as conn:
            return conn.execute("SELECT name, flux_count FROM object_totals").fetchone()

    ingest_files(catalogue, [image(1, "")], observer="novak")
    assert stored() == (None, 1)
    # One batch: the earliest file that names the star wins, whatever the fold's order.
    ingest_files(catalogue, [image(2, ""), image(3, "V1 Ori"), image(4, "NSV 1")], observer="novak")
    assert stored() == ("V1 Ori", 4)
    ingest_files(catalogue, [image(5, "GSC 123")], observer="svoboda")  # a name is kept
    assert stored() == ("V1 Ori", 5)


def test_sending_a_file_again_stores_nothing_and_says_duplicate(catalogue: Catalogue):
    path = fixture_path("correct_file.csv")
    first = ingest_files(catalogue, [path], observer="novak")
    with catalogue.connect("reader") as conn:
        before = counts(conn)
    again = ingest_files(catalogue, [path, path], observer="NOVAK")  # same observer, any case
    assert [o.status for o in first + again] == ["stored", "duplicate", "duplicate"]
    assert again[0].fluxes == 0
    with catalogue.connect("reader") as conn:
        assert counts(conn) == before
        # Another observer sending the same file is another image of theirs.
    other = ingest_files(catalogue, [path], observer="svoboda")
    assert other[0].status == "stored"
    with catalogue.connect("reader") as conn:
        after = counts(conn)
        assert_maintained_counts_are_exact(conn)
        per_star = dict(
            conn.execute(
                "SELECT catalog_id, flux_count FROM object_totals WHERE catalog <> 'APHOS'"
            ).fetchall()
        )
        per_source = Counter(
            n
            for (n,) in conn.execute("SELECT flux_count FROM object_totals WHERE catalog = 'APHOS'")
        )
    assert after["fluxes"] == 2 * before["fluxes"] and after["objects"] == before["objects"]
    # The other observer's rows SIPS matched to nothing are the sources the first file made:
    # 658 unmatched rows and the 26 second sources, each source measured once in each image.
    assert first[0].new_sources == 658 + 26 and other[0].new_sources == 0
    assert per_source == {2: 658 + 26}
    # Two images (novak's and svoboda's), one source of each star in each: SIPS matched 26
    # stars to two sources, and the farther is stored without the match.
    rows_per_star = Counter(read_sips(path).rows["catalog_id"].drop_null().to_pylist())
    assert max(rows_per_star.values()) == 2
    assert per_star == {star: 2 for star in rows_per_star}


def test_flux_counts_left_pending_are_folded_by_the_next_ingest(catalogue: Catalogue):
    """A file's counts wait in flux_count_pending until a fold, e.g. when its process died."""
    first = fixture_path("correct_file.csv")
    second = fixture_path("correct_file_shorter_header.csv")
    with catalogue.connect("writer") as conn:
        outcome = ingest_file(conn, first, observer_id=observer(conn), fold=False)
        assert outcome.status == "stored"
        assert conn.execute("SELECT sum(flux_count) FROM object_totals").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM flux_count_pending").fetchone() == (1,)
    later = ingest_files(catalogue, [second], observer="svoboda")  # another upload, later
    assert later[0].status == "stored"
    with catalogue.connect("writer") as conn:
        assert conn.execute("SELECT count(*) FROM flux_count_pending").fetchone() == (0,)
        assert_maintained_counts_are_exact(conn)
        total = conn.execute("SELECT sum(flux_count) FROM object_totals").fetchone()[0]
        assert total == outcome.fluxes + later[0].fluxes  # every row: a star or a source
        assert fold_flux_counts(conn) == 0  # nothing left: a second fold changes nothing
    with catalogue.connect("reader") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT * FROM flux_count_pending")


def _fold_in_place(conn: psycopg.Connection) -> tuple[int, int, int, int]:
    """Fold, and say how many objects changed, how many catalogue rows and star rows were
    updated, and how many of the star updates were HOT (the row rewritten on its own page,
    no index touched)."""
    # The "xact" counters also hold earlier transactions' counts not yet sent to the
    # statistics (at most once a second): take the difference.
    query = (
        "SELECT pg_stat_get_xact_tuples_updated('catalog_object'::regclass), "
        "pg_stat_get_xact_tuples_updated('star'::regclass), "
        "pg_stat_get_xact_tuples_hot_updated('star'::regclass)"
    )
    with conn.transaction():
        before = conn.execute(query).fetchone()
        folded = fold_flux_counts(conn)
        after = conn.execute(query).fetchone()
    return (folded, *(a - b for a, b in zip(after, before, strict=True)))


def test_a_fold_rewrites_every_count_in_place(catalogue: Catalogue):
    """Migrations 0009 and 0017: a star alone in its star keeps its count in the star, whose
    page has room for a new version of each of its rows, so that folding a file's stars
    rewrites one row per star and adds no entry to the star's indexes; the next fold finds
    the room again (the first fold's old versions pruned)."""
    with catalogue.connect("writer") as conn:
        oid = observer(conn)
        stars = []
        for name in ("correct_file.csv", "correct_file_shorter_header.csv"):
            outcome = ingest_file(conn, fixture_path(name), observer_id=oid, fold=False)
            assert outcome.status == "stored"
            stars.append(
                conn.execute(
                    "SELECT count(DISTINCT object_id) FROM flux WHERE image_id = %s",
                    (outcome.image_id,),
                ).fetchone()[0]
            )
            assert _fold_in_place(conn) == (stars[-1], 0, stars[-1], stars[-1])
        assert min(stars) > 150
        assert_maintained_counts_are_exact(conn)


def test_a_batch_reads_the_stars_of_an_images_sky_area_at_once(catalogue: Catalogue):
    """A batch caches every stored star of an image's area (measured positions plus 3 arcmin)
    in one read, so its later images of the field need not ask for their stars by id."""
    sips = read_sips(fixture_path("correct_file.csv"))
    with catalogue.connect("writer") as conn:
        assert ingest_parsed(conn, sips, observer_id=observer(conn)).status == "stored"
        # A star far from the field, which the read must leave out.
        with conn.transaction():
            conn.execute(
                "INSERT INTO catalog_object (catalog, catalog_id, ra_deg, dec_deg, "
                "flux_count) VALUES ('UCAC4', '000-000001', 10, -60, 0)"
            )
        stored = dict(
            conn.execute(
                "SELECT catalog || E'\\t' || catalog_id, id FROM catalog_object"
            ).fetchall()
        )
        matched_at = np.flatnonzero(
            sips.rows["catalog_id"].is_valid().to_numpy(zero_copy_only=False)
        )
        area = _sky_area(sips.rows, matched_at)
        ra = sips.rows["ra_deg"].to_numpy()[matched_at]
        dec = sips.rows["dec_deg"].to_numpy()[matched_at]
        assert area == pytest.approx(
            (ra.min() - 0.05, dec.min() - 0.05, ra.max() + 0.05, dec.max() + 0.05)
        )
        cache = ObjectCache()
        _read_area(conn, cache, area)
    # Every catalogue star of the field; the APhoS sources (unmatched rows) inside the area.
    read = dict(zip(cache.keys.to_pylist(), cache.ids.tolist(), strict=True))
    catalogued = {k: v for k, v in stored.items() if not k.startswith("APHOS")}
    assert len(catalogued) == len([k for k in read if not k.startswith("APHOS")]) + 1
    assert {k: v for k, v in read.items() if not k.startswith("APHOS")} == {
        k: v for k, v in catalogued.items() if k != "UCAC4\t000-000001"
    }
    sources = {k: v for k, v in stored.items() if k.startswith("APHOS")}
    assert 0 < len(sources) - len([k for k in read if k.startswith("APHOS")]) < 10
    assert cache.holds_area(area)
    assert cache.holds_area((area[0] + 0.01, area[1], area[2], area[3] - 0.01))
    assert not cache.holds_area((area[0] - 0.01, area[1], area[2], area[3]))


def test_rejected_files_store_nothing(catalogue: Catalogue):
    paths = [fixture_path("incorrect_missing_initial_info.csv"), fixture_path("scheme_missing.csv")]
    outcomes = ingest_files(catalogue, paths, observer="novak")
    assert [o.status for o in outcomes] == ["rejected", "rejected"]
    with catalogue.connect("reader") as conn:
        assert counts(conn) == {"images": 0, "fluxes": 0, "matched": 0, "objects": 0}
        assert conn.execute("SELECT state FROM upload").fetchone()[0] == "failed"


def _variants(count: int) -> list[bytes]:
    """Copies of the full export that differ only in their exposure start (so in SHA-256)."""
    data = (FIXTURES / "correct_file.csv").read_bytes()
    return [
        data.replace(
            b"ExposureBegin;2021-11-06T16:27:45.652",
            f"ExposureBegin;2021-11-06T16:27:{k:02d}.652".encode(),
        )
        for k in range(count)
    ]


@pytest.mark.slow
def test_twenty_parallel_ingests_sharing_new_stars_create_each_star_once(catalogue: Catalogue):
    files = [read_sips(v, name=f"copy{k}.csv") for k, v in enumerate(_variants(20))]
    assert len({f.sha256 for f in files}) == 20
    with catalogue.connect("writer") as conn:
        oid = observer(conn)
    start = threading.Barrier(20)

    def ingest(sips) -> FileOutcome:
        with catalogue.connect("writer") as conn:
            start.wait()  # all twenty transactions race for the same new stars
            return ingest_parsed(conn, sips, observer_id=oid)

    with ThreadPoolExecutor(20) as pool:
        outcomes = list(pool.map(ingest, files))
    assert [o.status for o in outcomes] == ["stored"] * 20
    with catalogue.connect("reader") as conn:
        total = counts(conn)
        per_object = conn.execute(
            "SELECT count(DISTINCT image_id) FROM flux WHERE object_id IS NOT NULL "
            "GROUP BY object_id"
        ).fetchall()
        assert_maintained_counts_are_exact(conn)
    assert total == {
        "images": 20,
        "fluxes": 20 * 2671,
        "matched": 20 * 1987,
        "objects": distinct_stars(files[0]),
    }
    assert {c for (c,) in per_object} == {20}


def _cli_env(catalogue: Catalogue, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APHOS_")}
    env.update(
        APHOS_HOME=str(home),
        APHOS_DATABASE_URL=catalogue.conninfo("owner"),
        APHOS_DATABASE_URL_WRITER=catalogue.conninfo("writer"),
        APHOS_DATABASE_URL_READER=catalogue.conninfo("reader"),
    )
    return env


def _forty_fields_in_one_file() -> bytes:
    """correct_file.csv's rows 40 times, each copy another field: shifted 1,000 px in X (so
    that no copy repeats a source of another) and matched to another catalogue."""
    data = (FIXTURES / "correct_file.csv").read_bytes()
    head, _, body = data.partition(b"\r\nName;")
    table_header, _, rows = body.partition(b"\r\n")
    parsed = [line.split(b";") for line in rows.split(b"\r\n") if line]
    copies = []
    for k in range(40):
        for fields in parsed:
            shifted = [fields[0], b"%.2f" % (float(fields[1]) + 1000 * k), *fields[2:]]
            if shifted[6]:
                shifted[6] = b"CAT%d" % k
            copies.append(b";".join(shifted))
    return head + b"\r\nName;" + table_header + b"\r\n" + b"\r\n".join(copies) + b"\r\n"


@pytest.mark.slow
def test_a_process_killed_in_the_middle_of_a_file_leaves_nothing(server, catalogue, tmp_path):
    big = tmp_path / "big.csv"
    big.write_bytes(_forty_fields_in_one_file())
    expected_rows = 2671 * 40
    env = _cli_env(catalogue, tmp_path)
    # Its sessions carry a name of their own, so the test can wait until the server has ended
    # every one of them (libpq reads PGAPPNAME).
    killed_env = {**env, "PGAPPNAME": "aphos-test-killed-ingest"}
    command = [
        sys.executable,
        "-m",
        "aphos_lib.cli",
        "ingest",
        "--observer",
        "novak",
        "--json",
        str(big),
    ]
    proc = subprocess.Popen(command, env=killed_env, cwd=REPO, stdout=subprocess.PIPE)
    dbname = make_url(catalogue.url("owner")).database
    seen_copy = False
    # Only a superuser sees other roles' queries in pg_stat_activity.
    with psycopg.connect(server.superuser, autocommit=True) as watch:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if watch.execute(
                "SELECT 1 FROM pg_stat_activity WHERE datname = %s AND state = 'active'"
                " AND query LIKE 'COPY flux%%'",
                (dbname,),
            ).fetchone():
                seen_copy = True
                break
            time.sleep(0.005)
        assert seen_copy, "the ingest never reached its COPY; the file is too small to kill"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # A backend notices its client's death only when it next reads from the socket; until
        # then its transaction (and the image row it inserted) is open.
        deadline = time.monotonic() + 60
        while watch.execute(
            "SELECT 1 FROM pg_stat_activity WHERE application_name = %s",
            ("aphos-test-killed-ingest",),
        ).fetchone():
            assert time.monotonic() < deadline, _activity(watch, dbname)
            time.sleep(0.05)
        with catalogue.connect("reader") as conn:
            assert counts(conn) == {"images": 0, "fluxes": 0, "matched": 0, "objects": 0}
        try:
            done = subprocess.run(
                command, env=env, cwd=REPO, capture_output=True, text=True, timeout=300
            )
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(f"the second ingest hung: {_activity(watch, dbname)}") from exc
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert (outcome["status"], outcome["fluxes"]) == ("stored", expected_rows)
    with catalogue.connect("reader") as conn:
        total = counts(conn)
        assert (total["images"], total["fluxes"]) == (1, expected_rows)
        lines = np.array([r[0] for r in conn.execute("SELECT line FROM flux ORDER BY line")])
    assert len(np.unique(lines)) == expected_rows


@pytest.mark.slow
@pytest.mark.serial
def test_statistics_saying_there_are_no_objects_do_not_slow_the_fold(
    catalogue, tmp_path, monkeypatch
):
    # An ANALYZE that ran while a first large ingest was storing its objects (not yet
    # committed: they count for nothing), or before they were rolled back, says catalog_object
    # is empty while the next ingest fills it. The fold's planner then joined the names to the
    # objects once per object: 40 s for this file's 80,000 objects, and a CI run hung 300 s.
    big = tmp_path / "big.csv"
    big.write_bytes(_forty_fields_in_one_file())
    with catalogue.connect("writer") as storing, storing.transaction():
        storing.execute(
            "INSERT INTO catalog_object (catalog, catalog_id, ra_deg, dec_deg) "
            "SELECT 'X', g::text, 0, 0 FROM generate_series(1, 80000) g"
        )
        with catalogue.connect("owner", autocommit=True) as owner:
            owner.execute("ANALYZE catalog_object")
            stats = owner.execute(
                "SELECT reltuples, relpages FROM pg_class WHERE relname = 'catalog_object'"
            ).fetchone()
        assert stats[0] == 0 and stats[1] > 100
        raise psycopg.Rollback()
    folds = []
    fold = ingest_module.fold_flux_counts

    def timed(conn):
        started = time.perf_counter()
        changed = fold(conn)
        folds.append((time.perf_counter() - started, changed))
        return changed

    monkeypatch.setattr(ingest_module, "fold_flux_counts", timed)
    ingest_files(catalogue, [big], observer="novak")
    print(f"folds (seconds, objects): {folds}")
    with catalogue.connect("reader") as conn:
        objects = conn.execute("SELECT count(DISTINCT object_id) FROM flux").fetchone()[0]
    assert sum(n for _, n in folds) == objects > 70_000
    # The counts: 0.6 s; linking 80,000 new objects (40 catalogues at each position) into
    # their stars: 6-9 s here. The join took 40 s, and linking with one pair per two objects
    # within 10" (780 at each position) more.
    assert sum(t for t, _ in folds) < 20


def _activity(watch: psycopg.Connection, dbname: str) -> str:
    """What every session of ``dbname`` is doing and waiting for, to diagnose a hang."""
    rows = watch.execute(
        "SELECT a.pid, a.application_name, a.state, a.wait_event_type, a.wait_event,"
        " pg_blocking_pids(a.pid), left(a.query, 120),"
        " (SELECT string_agg(l.locktype || ':' || l.mode || ':' || l.granted, ',')"
        "  FROM pg_locks l WHERE l.pid = a.pid)"
        " FROM pg_stat_activity a WHERE a.datname = %s",
        (dbname,),
    ).fetchall()
    return "\n".join(map(repr, rows))


def test_roles_reader_cannot_write_and_writer_cannot_change_the_schema(catalogue: Catalogue):
    with catalogue.connect("reader") as conn:
        with pytest.raises(psycopg.Error):
            conn.execute("INSERT INTO observer (username) VALUES ('mallory')")
    with catalogue.connect("reader") as conn:
        assert conn.execute("SELECT count(*) FROM flux").fetchone() == (0,)
    with catalogue.connect("writer") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DROP TABLE flux")
    with catalogue.connect("writer") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM flux")


def test_every_row_points_at_the_object_with_its_catalogue_id_across_a_batch(catalogue, tmp_path):
    # Later files of a batch take their object ids from the batch's cache, not the database.
    paths = []
    for k, data in enumerate(_variants(4)):
        paths.append(tmp_path / f"night{k}.csv")
        paths[-1].write_bytes(data)
    paths.append(fixture_path("few_lines_incorrect.csv"))
    outcomes = ingest_files(catalogue, paths, observer="novak")
    assert [o.status for o in outcomes] == ["stored"] * 5
    expected = {}
    for path in paths:
        sips = read_sips(path)
        rows = find_sources(sips.rows).stored_rows(sips.rows)  # a second source: unmatched
        lines, ids = rows["line"].to_pylist(), rows["catalog_id"].to_pylist()
        expected[path.name] = dict(zip(lines, ids, strict=True))
    with catalogue.connect("reader") as conn:
        stored = conn.execute(
            "SELECT i.filename, f.line, o.catalog, o.catalog_id FROM flux f"
            " JOIN image i ON i.id = f.image_id LEFT JOIN catalog_object o ON o.id = f.object_id"
        ).fetchall()
    assert len(stored) == sum(len(v) for v in expected.values())
    with catalogue.connect("reader") as conn:
        assert_maintained_counts_are_exact(conn)
    for filename, line, catalog, catalog_id in stored:
        if expected[filename][line] is None:  # unmatched: an APhoS source
            assert catalog == "APHOS", (filename, line)
        else:
            assert catalog_id == expected[filename][line], (filename, line)


def test_pooled_connections_are_reused_only_when_left_clean(server, catalogue: Catalogue):
    def backend(**kwargs) -> int:
        with catalogue.pooled("writer") as conn:
            pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            if kwargs.get("leave_open"):
                return pid  # a transaction left open: the connection is not reused
            conn.commit()
            if kwargs.get("fail"):
                raise RuntimeError("the caller failed")
            return pid

    first = backend()
    assert backend() == first
    assert backend(leave_open=True) == first
    second = backend()
    assert second != first
    with pytest.raises(RuntimeError):
        backend(fail=True)
    third = backend()
    assert third != second
    with psycopg.connect(server.superuser, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (third,))
    assert backend() != third  # a connection the server dropped is replaced
    catalogue.dispose()
    assert catalogue._idle == {}


def _repeated_table(times: int) -> bytes:
    """correct_file.csv with its table rows written ``times`` times (the 20 MB upload that
    stored up to 76 copies of a star in one image)."""
    data = (FIXTURES / "correct_file.csv").read_bytes()
    head, _, body = data.partition(b"\r\nName;")
    table_header, _, rows = body.partition(b"\r\n")
    return head + b"\r\nName;" + table_header + b"\r\n" + rows * times


def test_a_file_whose_rows_repeat_38_times_stores_each_source_once(catalogue, tmp_path):
    repeated = tmp_path / "repeated.csv"
    repeated.write_bytes(_repeated_table(38))
    assert repeated.stat().st_size > 20_000_000
    single, copies = ingest_files(
        catalogue, [fixture_path("correct_file.csv"), repeated], observer="novak"
    )
    assert (single.status, copies.status) == ("stored", "stored")
    assert (copies.fluxes, copies.matched, copies.unmatched) == (2671, 1987, 684)
    # Line 25 is the first row; 2696 is its first copy. The outcome lists the first 1,000.
    assert copies.rejected_count == 37 * 2671
    assert copies.rejected_rows == [
        RejectedRow(2696 + k, f"duplicate of line {25 + k}") for k in range(1000)
    ]
    assert copies.warnings == single.warnings and copies.warning_count == 26
    with catalogue.connect("reader") as conn:
        per_image = conn.execute(
            "SELECT i.filename, count(*), count(*) FILTER (WHERE o.catalog <> 'APHOS'),"
            " count(DISTINCT f.object_id), min(f.line), max(f.line)"
            " FROM flux f JOIN image i ON i.id = f.image_id"
            " JOIN catalog_object o ON o.id = f.object_id GROUP BY i.filename ORDER BY 1"
        ).fetchall()
        # Every row one object: 1,987 catalogue stars and 684 APhoS sources.
        assert per_image == [
            ("correct_file.csv", 2671, 1987, 2671, 25, 2695),
            ("repeated.csv", 2671, 1987, 2671, 25, 2695),
        ]
        recorded = conn.execute(
            "SELECT jsonb_array_length(rejected_rows), rejected_count, warning_count,"
            " pg_column_size(rejected_rows) FROM upload_file WHERE filename = %s",
            ("repeated.csv",),
        ).fetchone()
        assert recorded[:3] == (1000, 37 * 2671, 26) and recorded[3] < 60_000
        assert_maintained_counts_are_exact(conn)


def test_rows_within_a_pixel_are_one_source_and_a_star_has_one_source(writer):
    text = (
        "ExposureBegin;2021-11-06T16:27:45\nExposureEnd;2021-11-06T16:29:15\n"
        "Name;X;Y;RA;Dec;Catalog;CatalogId;CatalogRA;CatalogDec;ApAuto\n"
        # line 4: 3" from its star's catalogue position
        ";100.00;200.00;05 00 00.0;+10 00 00.0;UCAC4;500-000001;05 00 00.2;+10 00 00.0;100\n"
        # 0.5 px from line 4, another star: the same source
        ";100.30;200.40;05 00 00.1;+10 00 00.1;UCAC4;500-000002;05 00 00.1;+10 00 00.1;101\n"
        # 2.5 px from line 4, on line 4's star: another source, nearer the star
        ";102.50;200.00;05 00 00.2;+10 00 00.0;UCAC4;500-000001;05 00 00.2;+10 00 00.0;102\n"
        ";100.99;200.00;05 00 00.2;+10 00 00.0;;;;;103\n"  # 0.99 px from line 4, no star
        ";101.00;200.00;05 00 00.3;+10 00 00.0;;;;;104\n"  # 1 px (1.5 from line 6): a source
        ";400.00;400.00;05 02 00.0;+10 09 00.0;UCAC4;500-000003;05 02 00.0;+10 09 01.0;105\n"
        # 0.22 px from line 9, another star: the same source
        ";400.20;399.90;05 02 00.0;+10 09 00.0;UCAC4;500-000004;05 02 00.0;+10 09 00.0;106\n"
        # as far from line 9's star as line 9: a tie, the earlier row keeps the star
        ";500.00;500.00;05 02 00.0;+10 09 00.0;UCAC4;500-000003;05 02 00.0;+10 09 01.0;107\n"
    )
    outcome = ingest_file(writer, text.encode(), observer_id=observer(writer), name="near.csv")
    assert [(r.line, r.reason) for r in outcome.rejected_rows] == [
        (5, "duplicate of line 4"),
        (7, "duplicate of line 4"),
        (10, "duplicate of line 9"),
    ]
    assert outcome.warnings == [
        "line 4: a second source matched to UCAC4 500-000001 (line 6 is nearer); stored without"
        " the catalogue match",
        "line 11: a second source matched to UCAC4 500-000003 (line 9 is nearer); stored"
        " without the catalogue match",
    ]
    assert (outcome.fluxes, outcome.matched, outcome.unmatched) == (5, 2, 3)
    assert (outcome.rejected_count, outcome.warning_count) == (3, 2)
    stored = writer.execute(
        "SELECT f.line, f.ap_auto, o.catalog FROM flux f"
        " LEFT JOIN catalog_object o ON o.id = f.object_id ORDER BY f.line"
    ).fetchall()
    # The rows stored without a catalogue match are APhoS sources, one each.
    assert stored == [
        (4, 100.0, "APHOS"),
        (6, 102.0, "UCAC4"),
        (8, 104.0, "APHOS"),
        (9, 105.0, "UCAC4"),
        (11, 107.0, "APHOS"),
    ]
    objects = writer.execute(
        "SELECT catalog_id, flux_count FROM object_totals WHERE catalog <> 'APHOS' ORDER BY 1"
    )
    assert objects.fetchall() == [("500-000001", 1), ("500-000003", 1)]
    sources = writer.execute("SELECT flux_count FROM object_totals WHERE catalog = 'APHOS'")
    assert sorted(sources.fetchall()) == [(1,), (1,), (1,)]


def _crowded_field(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """X, Y of 3,000 stars on a 2,000 px image and 300 chains of 2-6 rows 0.3-0.9 px apart,
    in random order, one row in 50 without a position."""
    x, y = [rng.uniform(0, 2000, 3000)], [rng.uniform(0, 2000, 3000)]
    for _ in range(300):
        x0, y0, angle = *rng.uniform(0, 2000, 2), rng.uniform(0, np.pi)
        steps = rng.uniform(0.3, 0.9, rng.integers(2, 7)).cumsum()
        x.append(x0 + steps * np.cos(angle))
        y.append(y0 + steps * np.sin(angle))
    order = rng.permutation(sum(len(v) for v in x))
    x, y = np.round(np.concatenate(x), 2)[order], np.round(np.concatenate(y), 2)[order]
    x[rng.integers(0, len(x), len(x) // 50)] = np.nan
    return x, y


def test_the_vectorised_rounds_keep_the_rows_a_row_by_row_reading_keeps(monkeypatch):
    # Chains of neighbours, a table pasted five times, rows without a position: the rounds
    # (and the fold of copies) keep exactly the rows that reading them one by one keeps.
    one_by_one = repeats._settle_in_a_loop
    x, y = _crowded_field(np.random.default_rng(19))
    for copies in (1, 5):
        xs, ys = np.tile(x, copies), np.tile(y, copies)
        expected = one_by_one(xs, ys)
        with monkeypatch.context() as patch:
            patch.setattr(repeats, "_settle_in_a_loop", None)  # the rounds must suffice
            cite = repeats._repeats_of(xs, ys)
        assert (np.where(cite == repeats._NONE, -1, cite) == expected).all()
        assert (expected >= 0).sum() > 500 * copies and (expected[np.isnan(xs)] == -1).all()


def _encodings_of(data: bytes) -> dict[str, bytes]:
    """One exposure written as other bytes: line ends, trailing newlines and blank lines, a
    BOM, another encoding of its non-ASCII text (correct_file.csv is ISO-8859-1: '°')."""
    text = data.decode("iso-8859-1")
    assert "°" in text and data.count(b"\r\n") > 2000
    return {
        "lf.csv": data.replace(b"\r\n", b"\n"),
        "newline.csv": data + b"\r\n",
        "blank_lines.csv": data + b"\r\n\r\n\r\n",
        "lf_blank_lines.csv": data.replace(b"\r\n", b"\n") + b"\n\n  \n",
        "bom.csv": b"\xef\xbb\xbf" + text.encode("utf-8"),
        "utf8.csv": text.encode("utf-8"),
        "utf8_lf.csv": text.replace("\r\n", "\n").encode("utf-8"),
    }


def test_the_same_exposure_in_other_bytes_stores_nothing(catalogue, tmp_path):
    original = fixture_path("correct_file.csv")
    assert ingest_files(catalogue, [original], observer="novak")[0].status == "stored"
    with catalogue.connect("reader") as conn:
        before = counts(conn)
    variants = _encodings_of(original.read_bytes())
    paths = []
    for name, data in variants.items():
        paths.append(tmp_path / name)
        paths[-1].write_bytes(data)
    outcomes = ingest_files(catalogue, paths, observer="novak")
    assert [(o.file, o.status, o.fluxes) for o in outcomes] == [
        (name, "duplicate", 0) for name in variants
    ]
    with catalogue.connect("reader") as conn:
        assert counts(conn) == before
        assert conn.execute("SELECT count(*) FROM image").fetchone() == (1,)
        assert_maintained_counts_are_exact(conn)


def test_two_encodings_of_one_exposure_in_one_batch_store_it_once(catalogue, tmp_path):
    # Non-ASCII in the table too: a star's name, written in Windows-1250 and in UTF-8.
    text = (
        "ExposureBegin;2021-11-06T16:27:45\r\nExposureEnd;2021-11-06T16:29:15\r\n"
        "Observer;Novák\r\nFilter;R\r\n"
        "Name;X;Y;RA;Dec;Catalog;CatalogId;ApAuto;Ap1\r\n"
        "Šárka;10.0;20.0;05 00 00.0;+10 00 00.0;UCAC4;500-000001;100;90\r\n"
        ";30.0;40.0;05 01 00.0;+10 01 00.0;;;saturated;80\r\n"
    )
    files = {
        "cp1250.csv": text.encode("cp1250"),
        "utf8.csv": text.replace("\r\n", "\n").encode("utf-8") + b"\n\n",
    }
    assert read_sips(files["cp1250.csv"]).encoding == "windows-1250"
    paths = []
    for name, data in files.items():
        paths.append(tmp_path / name)
        paths[-1].write_bytes(data)
    outcomes = ingest_files(catalogue, paths, observer="novak")
    assert [(o.status, o.fluxes) for o in outcomes] == [("stored", 2), ("duplicate", 0)]
    with catalogue.connect("reader") as conn:
        assert counts(conn) == {"images": 1, "fluxes": 2, "matched": 1, "objects": 1}
        assert conn.execute("SELECT name FROM flux WHERE line = 6").fetchone() == ("Šárka",)


def test_another_exposure_is_stored_even_when_it_differs_in_one_value(catalogue, tmp_path):
    data = fixture_path("correct_file.csv").read_bytes()
    later = data.replace(
        b"ExposureEnd;2021-11-06T16:29:15.653", b"ExposureEnd;2021-11-06T16:29:15.654"
    )
    one_flux = data.replace(b";271001.483;", b";271001.484;")
    assert later != data and one_flux != data and one_flux.count(b";271001.484;") == 1
    paths = []
    for name, content in (
        ("a.csv", data),
        ("later.csv", later),
        ("one_flux.csv", one_flux),
        ("again.csv", data.replace(b"\r\n", b"\n")),
    ):
        paths.append(tmp_path / name)
        paths[-1].write_bytes(content)
    outcomes = ingest_files(catalogue, paths, observer="novak")
    assert [o.status for o in outcomes] == ["stored", "stored", "stored", "duplicate"]
    with catalogue.connect("reader") as conn:
        assert counts(conn)["images"] == 3 and counts(conn)["fluxes"] == 3 * 2671
        stored = conn.execute(
            "SELECT i.filename FROM flux f JOIN image i ON i.id = f.image_id "
            "WHERE f.ap_auto = 271001.484"
        ).fetchall()
        assert stored == [("one_flux.csv",)]
