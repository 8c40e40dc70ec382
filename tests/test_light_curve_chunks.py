"""Light-curve chunks (migration 0015): sealed records are read exactly as the rows they hold."""

from __future__ import annotations

import contextlib
import threading

import light_curve_oracle
import numpy as np
import psycopg
import pytest
from alembic import command

from aphos_lib import ingest, light_curve_read, queries
from aphos_lib.aperture_choice import ApertureChoice
from aphos_lib.db import light_curve_records
from aphos_lib.db.migrate import alembic_config, head_revision, upgrade
from aphos_lib.ingest import ingest_files
from aphos_lib.light_curve_read import CurveTooLarge, StarSpec, read_columns
from aphos_lib.search import resolve_object

pytestmark = pytest.mark.catalogue
# A chunk's record: the image id, then the flux's light-curve record.
CHUNK_RECORD = np.dtype([("id", ">i8")] + [(n, k) for n, _, k in light_curve_records.FLUX_FIELDS])
GK_CEP, GK_CMP, GK_CHECK = "UCAC4:805-031770", "UCAC4:803-032417", "UCAC4:804-031083"


def _gk_files(demo_files) -> list:
    directory, manifest = demo_files
    return [directory / f.path for f in manifest.files if f.field == "gk_cep"]


def _chunks(conn, object_id: int) -> list[tuple]:
    return conn.execute(
        "SELECT through_image_id, n_through, n, records FROM light_curve_chunk "
        "WHERE object_id = %s ORDER BY through_image_id",
        (object_id,),
    ).fetchall()


def _stars(conn) -> list[StarSpec]:
    auto = ApertureChoice.parse("auto")
    return [
        StarSpec("v", resolve_object(conn, GK_CEP), auto),
        StarSpec("c0", resolve_object(conn, GK_CMP), auto),
        StarSpec("k", resolve_object(conn, GK_CHECK), auto, optional=True),
    ]


def test_chunks_hold_each_measurement_once_and_the_read_equals_the_rows(
    catalogue, demo_files, monkeypatch
):
    monkeypatch.setattr(ingest, "SEAL_MIN_ROWS", 7)
    files = _gk_files(demo_files)
    assert len(files) >= 40
    # Three uploads, folded (and sealed) as they go and at their end.
    for part, observer in ((files[:20], "novak"), (files[20:-3], "svoboda"), (files[-3:], "novak")):
        ingest_files(catalogue, part, observer=observer)
    with catalogue.connect("reader", autocommit=True) as conn:
        stars = _stars(conn)
        for spec in stars:
            chunks = _chunks(conn, spec.star.id)
            assert len(chunks) >= 2, spec.alias
            each = [np.frombuffer(c[3], dtype=CHUNK_RECORD)["id"] for c in chunks]
            ids = np.concatenate(each)
            rows = [
                r[0]
                for r in conn.execute(
                    "SELECT image_id FROM flux WHERE object_id = %s ORDER BY image_id",
                    (spec.star.id,),
                )
            ]
            # The chunks hold the first rows in image order, each once, and end at an upload's
            # end; the last upload's 3 rows (under the threshold) and at most 6 more follow.
            assert ids.tolist() == rows[: len(ids)]
            assert 3 <= len(rows) - len(ids) < 7
            assert [c[2] for c in chunks] == [len(e) for e in each]
            assert [c[1] for c in chunks] == np.cumsum([len(e) for e in each]).tolist()
            assert [c[0] for c in chunks] == [e[-1] for e in each]
        expected = light_curve_oracle.read(conn, stars)
        chunked = read_columns(conn, stars)
    with catalogue.connect("owner") as conn:
        conn.execute("DELETE FROM light_curve_chunk")
    with catalogue.connect("reader", autocommit=True) as conn:
        unchunked = read_columns(conn, stars)
    assert len(expected["image_id"]) == len(files)
    assert list(chunked) == [
        c for c in expected if not c.endswith(("_ap", "_ap_dev", "_ap_saturated"))
    ]
    assert list(unchunked) == list(chunked)
    for name, column in chunked.items():
        light_curve_oracle.assert_same_column(name, column, expected[name])
        light_curve_oracle.assert_same_column(name, column, unchunked[name])


@contextlib.contextmanager
def _another_session_storing_an_image(catalogue):
    """While inside, another session has inserted an image and not yet committed."""
    storing = threading.Event()
    done = threading.Event()

    def store_an_image() -> None:
        # A real insert into image, as the ingest's: its transaction stays open meanwhile.
        with catalogue.connect("writer") as conn, conn.transaction():
            conn.execute(
                "INSERT INTO image (observer_id, sha256, identity, filename, encoding, "
                "exposure_begin, exposure_end, exposure_mid, header, columns, apertures, "
                "flux_count, matched_count) SELECT observer_id, '\\x00', '\\x00', 'x.csv', "
                "encoding, exposure_begin, exposure_end, exposure_mid, header, columns, "
                "apertures, 0, 0 FROM image LIMIT 1"
            )
            storing.set()
            done.wait(30)
            raise RuntimeError("rolled back")  # leaves nothing behind

    thread = threading.Thread(target=lambda: pytest.raises(RuntimeError, store_an_image))
    thread.start()
    try:
        assert storing.wait(30)
        yield
    finally:
        done.set()
        thread.join(30)


def _count(conn, table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def _seal(catalogue, object_ids, min_rows: int, isolation=None) -> int:
    with catalogue.connect("writer") as conn:
        if isolation is not None:
            conn.isolation_level = isolation
        with conn.transaction():
            queries.ingest.fold_lock().run(conn)
            return queries.ingest.seal_chunks(object_ids, min_rows).value(conn)


def _objects_with(catalogue, at_least: int) -> set[int]:
    with catalogue.connect("writer") as conn:
        rows = conn.execute(
            "SELECT object_id FROM flux WHERE object_id IS NOT NULL GROUP BY object_id "
            "HAVING count(*) >= %s",
            (at_least,),
        ).fetchall()
    return {r[0] for r in rows}


def test_nothing_is_sealed_while_another_session_stores_an_image(catalogue, demo_files):
    ingest_files(catalogue, _gk_files(demo_files)[:10], observer="novak")
    with _another_session_storing_an_image(catalogue):
        assert _seal(catalogue, None, 0) == 0
        with catalogue.connect("writer") as conn:
            assert _count(conn, "light_curve_chunk") == 0
    assert _seal(catalogue, None, 0) == len(_objects_with(catalogue, 1)) > 100


def test_objects_a_seal_skipped_are_sealed_by_the_next(catalogue, demo_files, monkeypatch):
    monkeypatch.setattr(ingest, "SEAL_MIN_ROWS", 7)
    files = _gk_files(demo_files)[:10]
    with _another_session_storing_an_image(catalogue):
        ingest_files(catalogue, files, observer="novak")  # its fold's seal must skip
        with catalogue.connect("writer") as conn:
            assert _count(conn, "light_curve_chunk") == 0
            pending = {r[0] for r in conn.execute("SELECT object_id FROM light_curve_seal_pending")}
            assert pending == _objects_with(catalogue, 1)
    with catalogue.connect("reader", autocommit=True) as conn:
        unsealed = read_columns(conn, _stars(conn))
    # The next seal, for no object of its own (an upload of another field), takes them.
    assert _seal(catalogue, [], 7) == len(_objects_with(catalogue, 7)) > 100
    with catalogue.connect("writer") as conn:
        assert _count(conn, "light_curve_seal_pending") == 0
        sealed_ids = {r[0] for r in conn.execute("SELECT object_id FROM light_curve_chunk")}
        assert sealed_ids == _objects_with(catalogue, 7)
    with catalogue.connect("reader", autocommit=True) as conn:
        stars = _stars(conn)
        assert all(_chunks(conn, spec.star.id) for spec in stars)
        sealed = read_columns(conn, stars)
    assert sealed.keys() == unsealed.keys()
    for name in unsealed:
        light_curve_oracle.assert_same_column(name, sealed[name], unsealed[name])


def test_a_seal_in_a_transaction_with_one_snapshot_seals_nothing(catalogue, demo_files):
    # Under REPEATABLE READ an image committed after the transaction began is not seen by the
    # seal's statement: it would be missing from the chunk for ever.
    ingest_files(catalogue, _gk_files(demo_files)[:10], observer="novak")
    for isolation in (psycopg.IsolationLevel.REPEATABLE_READ, psycopg.IsolationLevel.SERIALIZABLE):
        assert _seal(catalogue, None, 0, isolation) == 0
    with catalogue.connect("writer") as conn:
        assert _count(conn, "light_curve_chunk") == 0
        assert _count(conn, "light_curve_seal_pending") == len(_objects_with(catalogue, 1))
    assert _seal(catalogue, None, 0, psycopg.IsolationLevel.READ_COMMITTED) > 100


def test_a_curve_past_its_budget_is_refused_whatever_the_chunks_hold(
    catalogue, demo_files, monkeypatch
):
    monkeypatch.setattr(ingest, "SEAL_MIN_ROWS", 30)  # one chunk of 30, at the upload's end
    files = _gk_files(demo_files)[:30]
    ingest_files(catalogue, files, observer="novak")
    with catalogue.connect("reader", autocommit=True) as conn:
        stars = _stars(conn)[:2]
        assert len(_chunks(conn, stars[0].star.id)) == 1
        monkeypatch.setattr(light_curve_read, "MAX_CURVE_SOURCES", 2 * 29)
        with pytest.raises(CurveTooLarge):
            read_columns(conn, stars)
        monkeypatch.setattr(light_curve_read, "MAX_CURVE_SOURCES", 2 * 30)
        assert len(read_columns(conn, stars)["image_id"]) == 30


def test_migration_0015_seals_what_is_already_stored(catalogue, demo_files):
    files = _gk_files(demo_files)[:12]
    ingest_files(catalogue, files[:8], observer="novak")  # under the ingest's threshold
    with catalogue.connect("reader", autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM light_curve_chunk").fetchone()[0] == 0
    command.downgrade(alembic_config(catalogue), "0014")
    assert upgrade(catalogue) == head_revision()
    with catalogue.connect("reader", autocommit=True) as conn:
        gk = resolve_object(conn, GK_CEP)
        assert [(c[1], c[2]) for c in _chunks(conn, gk.id)] == [(8, 8)]
    ingest_files(catalogue, files[8:], observer="novak")  # 4 more: under the threshold
    with catalogue.connect("reader", autocommit=True) as conn:
        assert len(_chunks(conn, gk.id)) == 1
        assert len(read_columns(conn, _stars(conn))["image_id"]) == 12


def test_a_reader_cannot_seal(catalogue):
    with catalogue.connect("reader") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        queries.ingest.seal_chunks(None, 0).value(conn)
