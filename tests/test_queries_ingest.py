"""The ingest's statements: looked at without running them, and the stored identity run on
real PostgreSQL (aphos_lib.queries.ingest)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from aphos_lib import ingest
from aphos_lib.db.catalogue import Catalogue
from aphos_lib.ingest import ingest_files
from aphos_lib.queries import ingest as statements

from conftest import identity_files

T = datetime(2021, 11, 6, 16, 27, 45, tzinfo=UTC)


def image() -> statements.Query:
    return statements.image(
        observer_id=3,
        upload_id=None,
        sha256=b"s",
        identity=b"i",
        filename="a.csv",
        encoding="utf-8",
        exposure_begin=T,
        exposure_end=T,
        exposure_mid=T,
        exposure_time_s=90.0,
        jd_begin=2459525.18,
        jd_end=None,
        jd_mid=None,
        hjd=None,
        filter_name="R",
        center_ra_deg=None,
        center_dec_deg=None,
        header_json="[]",
        columns=["RA", "Dec", "ApAuto"],
        apertures=0,
        flux_count=1,
        matched_count=0,
    )


def test_the_flux_copy_names_the_columns_in_the_order_the_payload_writes_them():
    assert ingest._COPY_FLUX.text() == (
        f"COPY flux ({', '.join(ingest.FLUX_COLUMNS)}) FROM STDIN (FORMAT binary)"
    )
    assert ingest._COPY_FLUX.params is None


def test_an_exposure_sent_again_inserts_no_image_and_returns_no_row():
    q = image()
    text = " ".join(q.text().split())
    assert text.endswith("ON CONFLICT (observer_id, identity) DO NOTHING RETURNING id")
    columns = text.split("(", 1)[1].split(")", 1)[0].split(", ")
    assert len(columns) == len(q.params) == len(re.findall("%s", text)) == 22
    assert dict(zip(columns, q.params, strict=True))["filter"] == "R"
    assert dict(zip(columns, q.params, strict=True))["jd_begin"] == 2459525.18


def test_an_outcome_row_has_a_value_for_each_column():
    q = statements.record_file(
        upload_id=9,
        position=2,
        filename="a.csv",
        sha256=b"s",
        status="stored",
        image_id=4,
        fluxes=10,
        matched=8,
        unmatched=2,
        rejected_rows_json="[]",
        rejected_count=0,
        warnings_json="[]",
        warning_count=0,
        error=None,
        new_sources=2,
    )
    text = " ".join(q.text().split())
    columns = text.split("(", 1)[1].split(")", 1)[0].split(", ")
    assert len(columns) == len(q.params) == len(re.findall("%s", text)) == 15
    assert dict(zip(columns, q.params, strict=True))["matched"] == 8
    assert dict(zip(columns, q.params, strict=True))["new_sources"] == 2


def test_folds_take_one_shared_lock_and_move_every_pending_row_once():
    assert statements.fold_lock().text() == "SELECT pg_advisory_xact_lock(%s)"
    assert statements.fold_lock().params == (statements.FOLD_LOCK,)
    assert statements.fold_counts().text() == "SELECT fold_pending_flux_counts()"
    pend = statements.pend_counts("7,9", "2,1", [7], ["RR Lyr"])
    assert len(re.findall("%s", pend.text())) == len(pend.params) == 4


@pytest.mark.catalogue
def test_a_fold_sums_every_pending_count_once_and_names_by_the_earliest_file(catalogue):
    with catalogue.connect("writer") as conn:
        with conn.transaction():
            ids = [
                r[0]
                for r in conn.execute(
                    "INSERT INTO catalog_object (catalog, catalog_id, name, ra_deg, dec_deg) "
                    "VALUES ('UCAC4', '1', NULL, 0, 0), ('UCAC4', '2', NULL, 0, 0), "
                    "('UCAC4', '3', 'Known', 0, 0) RETURNING id"
                )
            ]
            a, b, c = ids
            for pend in (
                statements.pend_counts(f"{a},{c}", "2,5", [a, c], ["First", "Other"]),
                statements.pend_counts(f"{a},{b}", "3,1", [a, b], ["Second", "B"]),
                statements.pend_counts(f"{b}", "4", [], []),
            ):
                pend.run(conn)
        with conn.transaction():
            statements.fold_lock().run(conn)
            changed = sorted(r[0] for r in statements.fold_counts().rows(conn))
        with conn.transaction():
            statements.fold_lock().run(conn)
            again = statements.fold_counts().rows(conn)
        rows = conn.execute(
            "SELECT id, flux_count, name FROM catalog_object WHERE id = ANY(%s) ORDER BY id",
            (ids,),
        ).fetchall()
    assert changed == ids and again == []
    # Summed once; the earliest file names a star without one; a name is never replaced.
    assert rows == [(a, 5, "First"), (b, 5, "B"), (c, 5, "Known")]


@pytest.mark.catalogue
def test_the_stored_identity_is_the_identity_the_ingest_computed(catalogue: Catalogue, tmp_path):
    files = identity_files(tmp_path)
    assert [o.status for o in ingest_files(catalogue, files, observer="novak")] == ["stored"] * 4
    with catalogue.connect("reader") as conn:
        written = conn.execute("SELECT id, identity FROM image ORDER BY id").fetchall()
        stored = statements.stored_identities([i for i, _ in written]).rows(conn)
    assert len(written) == 4
    assert stored == written
