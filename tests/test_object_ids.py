"""New catalogue stars shared by files whose transactions overlap (aphos_lib.object_ids).

A batch prepares a file while the one before it is still being stored, so the later file
borrows the ids the earlier one reserved for its new stars. These tests drive the two halves
of a file's transaction by hand to put the files in the orders that matter.
"""

from __future__ import annotations

import psycopg
import pytest
from test_ingest import _variants, assert_maintained_counts_are_exact, distinct_stars, observer

from aphos_lib.db.catalogue import Catalogue
from aphos_lib.ingest import _complete, _prepare, fold_flux_counts, ingest_parsed
from aphos_lib.io.repeats import find_sources
from aphos_lib.io.sips import read_sips
from aphos_lib.object_ids import ObjectCache


def stored_rows(conn: psycopg.Connection) -> dict[tuple[str, int], str | None]:
    """(file name, line) -> the catalogue id of the object the stored row points at (None for
    an APhoS source)."""
    return {
        (name, line): cid
        for name, line, cid in conn.execute(
            "SELECT i.filename, f.line, o.catalog_id FROM flux f JOIN image i ON i.id = f.image_id"
            " LEFT JOIN catalog_object o ON o.id = f.object_id AND o.catalog <> 'APHOS'"
        )
    }


def distinct_objects(sips) -> int:
    """The catalogue stars of a file and its APhoS sources (a row stored without a match
    each)."""
    return (
        distinct_stars(sips)
        + find_sources(sips.rows).stored_rows(sips.rows)["catalog_id"].null_count
    )


def expected_rows(files) -> dict[tuple[str, int], str | None]:
    """(file name, line) -> catalogue id of each row stored (None for a star's second
    source)."""
    expected = {}
    for f in files:
        rows = find_sources(f.rows).stored_rows(f.rows)
        lines, ids = rows["line"].to_pylist(), rows["catalog_id"].to_pylist()
        expected.update({(f.source, line): cid for line, cid in zip(lines, ids, strict=True)})
    return expected


def test_a_file_borrows_the_new_stars_of_the_file_before_it_and_follows_their_final_ids(
    catalogue: Catalogue,
):
    first, second, other = (read_sips(v, name=f"night{k}.csv") for k, v in enumerate(_variants(3)))
    known = ObjectCache()
    with (
        catalogue.connect("writer") as a,
        catalogue.connect("writer") as b,
        catalogue.connect("writer") as c,
    ):
        oid = observer(a)
        pending_first = _prepare(a, first, oid, None, 0, known)
        assert len(pending_first.stars.new.ids) == distinct_objects(first)
        pending_second = _prepare(b, second, oid, None, 1, known)
        # Every star of the second image is one the first is inserting: none is new again.
        assert pending_second.stars.new is None
        assert sum(len(at) for _, at, _ in pending_second.stars.borrowed) == distinct_objects(
            second
        )
        # Meanwhile another ingest stores the same stars first, under other ids.
        assert ingest_parsed(c, other, observer_id=oid).status == "stored"
        reserved = pending_first.stars.new.ids.copy()
        assert _complete(pending_first).status == "stored"
        assert _complete(pending_second).status == "stored"
        fold_flux_counts(a)
        taken = c.execute("SELECT id FROM catalog_object").fetchall()
    # Both files took over the other ingest's ids; no star was stored twice.
    assert len(taken) == distinct_objects(first)
    assert not set(reserved.tolist()) & {i for (i,) in taken}
    with catalogue.connect("reader") as conn:
        assert stored_rows(conn) == expected_rows([first, second, other])
        assert_maintained_counts_are_exact(conn)


def test_a_file_whose_lender_failed_stores_nothing_and_can_be_sent_again(catalogue: Catalogue):
    first, second = (read_sips(v, name=f"night{k}.csv") for k, v in enumerate(_variants(2)))
    known = ObjectCache()
    with catalogue.connect("writer") as a, catalogue.connect("writer") as b:
        oid = observer(a)
        pending_first = _prepare(a, first, oid, None, 0, known)
        pending_second = _prepare(b, second, oid, None, 1, known)
        a.close()  # the first file's connection is lost before it is stored
        with pytest.raises(psycopg.OperationalError):
            _complete(pending_first)
        with pytest.raises(RuntimeError, match="was not stored"):
            _complete(pending_second)
        known.settle(pending_first.stars)
        known.settle(pending_second.stars)
        assert known.in_flight == [] and len(known.keys) == 0
        counts = b.execute(
            "SELECT (SELECT count(*) FROM image), (SELECT count(*) FROM flux),"
            " (SELECT count(*) FROM catalog_object)"
        ).fetchone()
        assert counts == (0, 0, 0)
        assert ingest_parsed(b, second, observer_id=oid, known_objects=known).status == "stored"
    with catalogue.connect("reader") as conn:
        assert stored_rows(conn) == expected_rows([second])
        assert_maintained_counts_are_exact(conn)
