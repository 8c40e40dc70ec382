"""An image is identified by its exposure, not by its file's bytes.

The image table was unique on (observer, SHA-256 of the file's bytes): the same exposure sent
again with LF instead of CRLF line ends, a BOM, one blank line more or in another text encoding
was stored again (500 variants of one file became 500 images). It is now unique on
(observer, ``identity``), the SHA-256 of what was read (:mod:`aphos_lib.db.exposure_identity`):
the exposure's begin and end, its filter, its number of apertures and of rows, and every value
of every row. ``sha256`` stays, as the record of the bytes received.

Existing images get their identity here, computed from their stored rows (:data:`IDENTITY`, a
copy of ``aphos_lib.queries.ingest.STORED_IDENTITY``): before this revision every row read
from a file was stored, so it is the identity the ingest computes when the file is sent again.
Images that are already the same exposure (stored before this revision from differently
encoded copies) are left as they are: the first of them takes the identity and the later ones
keep none (NULL, which the unique constraint does not compare), so nothing is deleted here.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None
VACUUM_AFTER = ["image"]  # every image row is rewritten by the UPDATE

IDENTITY = """
sha256(int8send((extract(epoch FROM i.exposure_begin) * 1000000)::int8)
|| int8send((extract(epoch FROM i.exposure_end) * 1000000)::int8)
|| int4send(i.apertures) || int8send((SELECT count(*) FROM flux f WHERE f.image_id = i.id))
|| coalesce(int4send(octet_length(convert_to(i.filter, 'UTF8')))
            || convert_to(i.filter, 'UTF8'), int4send(-1))
|| (SELECT ''::bytea
    || coalesce(string_agg(int4send(coalesce(octet_length(convert_to(f.name, 'UTF8')), -1)),
                           '' ORDER BY f.line), '')
    || coalesce(string_agg(convert_to(f.name, 'UTF8'), '' ORDER BY f.line), '')
    || coalesce(string_agg(int4send(coalesce(octet_length(convert_to(o.catalog, 'UTF8')), -1)),
                           '' ORDER BY f.line), '')
    || coalesce(string_agg(convert_to(o.catalog, 'UTF8'), '' ORDER BY f.line), '')
    || coalesce(string_agg(int4send(coalesce(octet_length(convert_to(o.catalog_id, 'UTF8')), -1)),
                           '' ORDER BY f.line), '')
    || coalesce(string_agg(convert_to(o.catalog_id, 'UTF8'), '' ORDER BY f.line), '')
    || coalesce(string_agg(float8send(coalesce(f.x, 'NaN')), '' ORDER BY f.line), '')
    || coalesce(string_agg(float8send(coalesce(f.y, 'NaN')), '' ORDER BY f.line), '')
    || coalesce(string_agg(float8send(coalesce(f.adu, 'NaN')), '' ORDER BY f.line), '')
    || coalesce(string_agg(float8send(coalesce(f.ra_deg, 'NaN')), '' ORDER BY f.line), '')
    || coalesce(string_agg(float8send(coalesce(f.dec_deg, 'NaN')), '' ORDER BY f.line), '')
    || coalesce(string_agg(float8send(coalesce(f.background, 'NaN')), '' ORDER BY f.line), '')
    || coalesce(string_agg(float8send(coalesce(f.background_dev, 'NaN')), '' ORDER BY f.line), '')
    || coalesce(string_agg(float8send(coalesce(f.ap_auto, 'NaN')), '' ORDER BY f.line), '')
    || coalesce(string_agg(float8send(coalesce(f.ap_auto_dev, 'NaN')), '' ORDER BY f.line), '')
    || coalesce(string_agg(boolsend(f.ap_auto_saturated), '' ORDER BY f.line), '')
    FROM flux f LEFT JOIN catalog_object o ON o.id = f.object_id WHERE f.image_id = i.id)
|| coalesce((SELECT string_agg(v, '' ORDER BY k) FROM (
       SELECT k, string_agg(float8send(coalesce(f.ap[k], 'NaN')), '' ORDER BY f.line) AS v
       FROM flux f, generate_series(1, i.apertures) AS k
       WHERE f.image_id = i.id GROUP BY k) AS a), '')
|| coalesce((SELECT string_agg(v, '' ORDER BY k) FROM (
       SELECT k, string_agg(float8send(coalesce(f.ap_dev[k], 'NaN')), '' ORDER BY f.line) AS v
       FROM flux f, generate_series(1, i.apertures) AS k
       WHERE f.image_id = i.id GROUP BY k) AS a), '')
|| coalesce((SELECT string_agg(v, '' ORDER BY k) FROM (
       SELECT k, string_agg(boolsend(f.ap_saturated[k]), '' ORDER BY f.line) AS v
       FROM flux f, generate_series(1, i.apertures) AS k
       WHERE f.image_id = i.id GROUP BY k) AS a), '')
)
"""


def upgrade() -> None:
    op.execute("ALTER TABLE image ADD COLUMN identity bytea")
    op.execute(f"UPDATE image i SET identity = {IDENTITY}")
    op.execute(
        "UPDATE image SET identity = NULL WHERE id IN (SELECT id FROM (SELECT id, row_number() "
        "OVER (PARTITION BY observer_id, identity ORDER BY id) AS n FROM image) AS s "
        "WHERE n > 1)"
    )
    op.execute("ALTER TABLE image DROP CONSTRAINT image_observer_sha256_key")
    op.execute(
        "ALTER TABLE image ADD CONSTRAINT image_observer_identity_key "
        "UNIQUE (observer_id, identity)"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE image DROP CONSTRAINT image_observer_identity_key")
    op.execute("ALTER TABLE image DROP COLUMN identity")
    op.execute(
        "ALTER TABLE image ADD CONSTRAINT image_observer_sha256_key UNIQUE (observer_id, sha256)"
    )
