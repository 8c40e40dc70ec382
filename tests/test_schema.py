"""The schema: migrations from an empty database, agreement with the models, packaging."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import numpy as np
import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from psycopg import sql

from aphos_lib.db import light_curve_records as records
from aphos_lib.db.migrate import alembic_config, current_revision, head_revision, upgrade
from aphos_lib.db.models import Base
from aphos_lib.ingest import ingest_files
from aphos_lib.observers import ensure_local_observer

from conftest import fixture_path, identity_files

pytestmark = pytest.mark.catalogue


@pytest.fixture
def empty_catalogue(server):
    """An empty database (no tables at all) owned by the template's owner."""
    name = f"aphos_empty_{uuid.uuid4().hex[:10]}"
    owner = server.template_owner
    with psycopg.connect(server.superuser, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0").format(
                sql.Identifier(name), sql.Identifier(owner)
            )
        )
    cat = server.template.for_database(name)
    try:
        yield cat
    finally:
        cat.dispose()
        server.drop(name)


def test_an_empty_database_upgrades_to_head(empty_catalogue):
    assert current_revision(empty_catalogue) is None
    assert upgrade(empty_catalogue) == head_revision()
    with empty_catalogue.connect("owner") as conn:
        tables = {
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
    assert {"observer", "catalog_object", "image", "flux", "upload", "upload_file"} <= tables
    # Upgrading again is a no-op.
    assert upgrade(empty_catalogue) == head_revision()


def test_models_describe_exactly_what_the_migrations_create(catalogue):
    with catalogue.engine("owner").connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def _decoded(raw: list[bytes], fields) -> np.ndarray:
    return np.frombuffer(b"".join(raw), dtype=[(n, t) for n, _, t in fields])


def test_light_curve_records_hold_the_values_of_their_columns(catalogue):
    # One file with saturated stars (NULL ApAuto) and no deviations (NULL), one whose header
    # has no JD or HJD: every NULL must read as NaN, every value bit for bit.
    files = [fixture_path("correct_file.csv"), fixture_path("correct_file_shorter_header.csv")]
    ingest_files(catalogue, files, observer="novak")
    with catalogue.connect("reader") as conn:
        images = conn.execute(
            "SELECT light_curve_record, id, exposure_mid, jd_mid, hjd, observer_id, "
            "exposure_time_s FROM image ORDER BY id"
        ).fetchall()
        fluxes = conn.execute(
            "SELECT light_curve_record, ra_deg, dec_deg, ap_auto, ap_auto_dev, "
            "ap_auto_saturated FROM flux ORDER BY image_id, line"
        ).fetchall()
    assert len(images) == 2 and len(fluxes) == 2671 + 178
    epoch = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

    def same(decoded, column) -> bool:
        expected = np.array([np.nan if v is None else v for v in column], dtype=float)
        return np.array_equal(decoded, expected, equal_nan=True)

    image = _decoded([r[0] for r in images], records.IMAGE_FIELDS)
    assert image["image_id"].tolist() == [r[1] for r in images]
    assert image["_time_us"].tolist() == [
        (r[2] - epoch) // dt.timedelta(microseconds=1) for r in images
    ]
    assert image["_observer_id"].tolist() == [r[5] for r in images]
    for name, k in (("jd", 3), ("hjd", 4), ("exposure_s", 6)):
        assert same(image[name], [r[k] for r in images]), name
    assert np.isnan(image["hjd"]).sum() == 1  # the shorter header's

    flux = _decoded([r[0] for r in fluxes], records.FLUX_FIELDS)
    for k, name in enumerate(["ra_deg", "dec_deg", "ap_auto", "ap_auto_dev"], start=1):
        assert same(flux[name], [r[k] for r in fluxes]), name
    assert flux["ap_auto_saturated"].tolist() == [r[5] for r in fluxes]
    assert 0 < flux["ap_auto_saturated"].sum() == np.isnan(flux["ap_auto"]).sum()
    missing = np.frombuffer(records.MISSING_FLUX, dtype=flux.dtype)[0]
    assert np.isnan(missing["ra_deg"]) and not missing["ap_auto_saturated"]


def test_the_ingest_writes_the_records_the_migration_computes(catalogue):
    # The ingest encodes a flux's record with numpy; migration 0010 computed those of existing
    # rows in SQL. Taken back to 0009 (the records dropped) and up again, every byte agrees.
    ingest_files(catalogue, [fixture_path("correct_file.csv")], observer="novak")
    query = "SELECT light_curve_record FROM {} ORDER BY {}"
    keys = {"image": "id", "flux": "image_id, line"}

    def stored() -> dict[str, list[bytes]]:
        with catalogue.connect("reader") as conn:
            return {t: [r[0] for r in conn.execute(query.format(t, k))] for t, k in keys.items()}

    written = stored()
    with catalogue.connect("reader") as conn:
        differ = conn.execute(
            f"SELECT count(*) FROM flux WHERE light_curve_record <> ({records.FLUX_RECORD})"
        ).fetchone()[0]
    assert differ == 0
    command.downgrade(alembic_config(catalogue), "0009")
    with catalogue.connect("reader") as conn:
        columns = conn.execute(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE column_name = 'light_curve_record'"
        ).fetchone()[0]
    assert columns == 0
    assert upgrade(catalogue) == head_revision()
    assert stored() == written
    assert len(written["flux"]) == 2671


def test_flux_has_no_per_row_foreign_key_checks(catalogue):
    # Integrity of flux comes from the ingest transaction; a per-row FK check would make the
    # COPY several times slower (see aphos_lib/db/models.py).
    with catalogue.connect("owner") as conn:
        fks = conn.execute(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'flux'::regclass AND contype = 'f'"
        ).fetchone()[0]
    assert fks == 0


def test_upgrading_stars_to_fillfactor_50_leaves_them_ready_for_index_only_scans(empty_catalogue):
    """Migration 0009 rewrites catalog_object with room for a fold's updates; the upgrade then
    VACUUMs it, so every page is marked all-visible again (index-only scans need that)."""
    assert upgrade(empty_catalogue, "0008") == "0008"
    with empty_catalogue.connect("owner") as conn:
        conn.execute(
            "INSERT INTO catalog_object (catalog, catalog_id, ra_deg, dec_deg, mag, flux_count) "
            "SELECT 'UCAC4', lpad(i::text, 9, '0'), i % 360, 0, 12, 0 "
            "FROM generate_series(1, 5000) AS i"
        )
    with empty_catalogue.connect("owner", autocommit=True) as conn:
        conn.execute("VACUUM catalog_object")
        packed = conn.execute("SELECT relpages FROM pg_class WHERE relname = 'catalog_object'")
        packed = packed.fetchone()[0]
    assert upgrade(empty_catalogue) == head_revision()
    with empty_catalogue.connect("owner") as conn:
        options, pages, visible = conn.execute(
            "SELECT reloptions, relpages, relallvisible FROM pg_class "
            "WHERE relname = 'catalog_object'"
        ).fetchone()
        assert conn.execute("SELECT count(*) FROM catalog_object").fetchone() == (5000,)
    assert options == ["fillfactor=50"]
    assert pages >= 1.5 * packed  # rows at 50% of a page instead of 80%
    assert visible == pages


def test_migration_0011_gives_existing_images_the_identity_the_ingest_computes(catalogue, tmp_path):
    files = identity_files(tmp_path)
    assert [o.status for o in ingest_files(catalogue, files, observer="novak")] == ["stored"] * 4
    query = "SELECT id, identity FROM image ORDER BY id"
    with catalogue.connect("reader") as conn:
        written = conn.execute(query).fetchall()
    assert len({identity for _, identity in written}) == 4
    # An exposure stored twice before 0011 (two encodings of one file, by the raw bytes).
    with catalogue.connect("owner") as conn:
        copy = conn.execute(
            "INSERT INTO image (observer_id, upload_id, sha256, identity, filename, encoding,"
            " exposure_begin, exposure_end, exposure_mid, exposure_time_s, filter, header,"
            " columns, apertures, flux_count, matched_count) SELECT observer_id, upload_id,"
            " sha256(sha256), NULL, 'lf.csv', encoding, exposure_begin, exposure_end,"
            " exposure_mid, exposure_time_s, filter, header, columns, apertures, flux_count,"
            " matched_count FROM image WHERE id = %s RETURNING id",
            (written[0][0],),
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO flux SELECT %s, line, object_id, name, x, y, adu, ra_deg, dec_deg,"
            " background, background_dev, ap_auto, ap_auto_dev, ap_auto_saturated, ap, ap_dev,"
            " ap_saturated, light_curve_record FROM flux WHERE image_id = %s",
            (copy, written[0][0]),
        )
    command.downgrade(alembic_config(catalogue), "0010")
    assert upgrade(catalogue) == head_revision()
    with catalogue.connect("reader") as conn:
        assert conn.execute(query).fetchall() == [*written, (copy, None)]
    # Sent again, the exposure is a duplicate of the first image; nothing new is stored.
    again = ingest_files(catalogue, [files[0]], observer="novak")
    assert again[0].status == "duplicate"
    with catalogue.connect("reader") as conn:
        assert conn.execute("SELECT count(*) FROM image").fetchone() == (5,)


def test_migration_0013_counts_the_rejected_rows_and_keeps_the_first_thousand(catalogue):
    command.downgrade(alembic_config(catalogue), "0011")
    many = [{"line": 2696 + k, "reason": f"duplicate of line {25 + k}"} for k in range(1500)]
    warnings = [f"line {k}: a second source" for k in range(1200)]
    with catalogue.connect("owner") as conn:
        observer = ensure_local_observer(conn, "novak")
        upload = conn.execute(
            "INSERT INTO upload (observer_id, client) VALUES (%s, 'cli') RETURNING id", (observer,)
        ).fetchone()[0]
        for position, (rejected, warned) in enumerate(
            [(many, warnings), (many[:2], []), ([], warnings[:3]), ([], [])]
        ):
            conn.execute(
                "INSERT INTO upload_file (upload_id, position, filename, status, rejected_rows,"
                " warnings) VALUES (%s, %s, 'a.csv', 'stored', %s, %s)",
                (upload, position, json.dumps(rejected), json.dumps(warned)),
            )
        conn.commit()
    assert upgrade(catalogue) == head_revision()
    with catalogue.connect("owner") as conn:
        recorded = conn.execute(
            "SELECT rejected_rows, rejected_count, warnings, warning_count FROM upload_file"
            " ORDER BY position"
        ).fetchall()
    assert recorded == [
        (many[:1000], 1500, warnings[:1000], 1200),
        (many[:2], 2, [], 0),
        ([], 0, warnings[:3], 3),
        ([], 0, [], 0),
    ]
