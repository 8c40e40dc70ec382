"""A star's light-curve records, sealed into chunks: a long light curve is read in one piece.

A light curve reads each star's measurements from ``flux_object_image_idx`` and aggregates
their records into one ``bytea`` (migration 0010). For an ensemble of 15 comparisons and a
check star over 5,000 images that is 80,000 index entries and as many ``string_agg`` steps:
about 24 ms of the server's time, 60% of it the aggregate. Fluxes are never changed or
deleted once stored, so what the aggregate builds can be kept: ``light_curve_chunk`` holds,
per catalogue object, its records (image id and the flux's light-curve record, in image
order, exactly as a light curve reads them) up to an image id; a light curve reads a star's
chunks (one index probe, one uncompressed out-of-line value) and only the rows after the last
one from the index.

Chunks are written by :func:`seal_light_curve_chunks`, never updated:

- the ingest calls it after each fold of flux counts (:func:`aphos_lib.ingest.fold_flux_counts`),
  for the objects just folded that have ``min_rows`` or more measurements after their last
  chunk; it runs under the fold's lock, so two seals never write one object's chunk;
- a chunk may only cover images whose transactions have ended, or an image committed later
  with a lower id would be missing from it for ever. The function reads the last image id the
  sequence has handed out, then checks that no other session holds the lock an insert into
  ``image`` or ``flux`` takes (before its ``nextval``, until its transaction ends); only then,
  in a statement with a later snapshot, does it read the fluxes of images up to that id.
  That needs READ COMMITTED (a snapshot per statement) and a sequence that hands out one id at
  a time (no session holds ids cached ahead); otherwise, and while another session (of this
  database, or a prepared transaction) is storing images, it seals nothing and notes the
  objects in ``light_curve_seal_pending``, which the next call seals with its own.

This migration seals every object's existing measurements (about 40 s at 30 million fluxes).
The table adds about 49 bytes per flux (the records and their image ids).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None
VACUUM_AFTER = ["light_curve_chunk"]

READER = "aphos_reader"
WRITER = "aphos_writer"

SEAL_FUNCTION = """
CREATE FUNCTION seal_light_curve_chunks(object_ids bigint[], min_rows integer)
RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    through bigint;
    sealed integer;
    image_ids regclass := pg_get_serial_sequence('image', 'id')::regclass;
BEGIN
    IF object_ids IS NULL THEN
        object_ids := ARRAY(SELECT id FROM catalog_object);
    ELSE
        object_ids := object_ids || ARRAY(SELECT object_id FROM light_curve_seal_pending);
    END IF;
    -- Read the sequence first: any id at or below it that is still being stored belongs to
    -- a transaction holding the lock checked next.
    through := pg_sequence_last_value(image_ids);
    IF through IS NULL THEN
        RETURN 0;
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed'
       OR (SELECT seqcache FROM pg_sequence WHERE seqrelid = image_ids) <> 1
       OR EXISTS (SELECT 1 FROM pg_locks
                  WHERE locktype = 'relation'
                    AND database = (SELECT oid FROM pg_database
                                    WHERE datname = current_database())
                    AND relation IN ('image'::regclass, 'flux'::regclass)
                    AND mode = 'RowExclusiveLock'
                    -- a prepared transaction's locks have no pid
                    AND pid IS DISTINCT FROM pg_backend_pid()) THEN
        INSERT INTO light_curve_seal_pending (object_id)
        SELECT DISTINCT u.id FROM unnest(object_ids) AS u(id)
        ON CONFLICT DO NOTHING;
        RETURN 0;
    END IF;
    -- A new statement, a new snapshot: every image up to "through" is committed or gone.
    INSERT INTO light_curve_chunk (object_id, through_image_id, n_through, n, records)
    SELECT o.id, t.through_image_id, coalesce(last.n_through, 0) + t.n, t.n, t.records
    FROM (SELECT DISTINCT id FROM unnest(object_ids) AS u(id)) u
    JOIN catalog_object o ON o.id = u.id
    LEFT JOIN LATERAL (SELECT c.through_image_id, c.n_through FROM light_curve_chunk c
                       WHERE c.object_id = o.id
                       ORDER BY c.through_image_id DESC LIMIT 1) last ON true
    CROSS JOIN LATERAL (
        SELECT count(*)::integer AS n, max(f.image_id) AS through_image_id,
               string_agg(int8send(f.image_id) || f.light_curve_record, ''::bytea
                          ORDER BY f.image_id) AS records
        FROM flux f
        WHERE f.object_id = o.id AND f.image_id > coalesce(last.through_image_id, 0)
          AND f.image_id <= through) t
    -- The folded counts choose the objects worth reading; min_rows 0 reads every object.
    WHERE (min_rows = 0 OR o.flux_count - coalesce(last.n_through, 0) >= min_rows)
      AND t.n >= greatest(min_rows, 1);
    GET DIAGNOSTICS sealed = ROW_COUNT;
    DELETE FROM light_curve_seal_pending WHERE object_id = ANY(object_ids);
    RETURN sealed;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "light_curve_chunk",
        sa.Column("object_id", sa.BigInteger, nullable=False),
        sa.Column("through_image_id", sa.BigInteger, nullable=False),
        sa.Column("n_through", sa.BigInteger, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("records", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("object_id", "through_image_id"),
    )
    # Out of line, uncompressed: binary floats hardly compress, and a read copies them once.
    op.execute("ALTER TABLE light_curve_chunk ALTER records SET STORAGE EXTERNAL")
    op.execute(f"GRANT SELECT ON light_curve_chunk TO {READER}")
    op.execute(f"GRANT SELECT, INSERT ON light_curve_chunk TO {WRITER}")
    # Objects a seal had to skip (another session storing images): the next seal takes them.
    op.create_table(
        "light_curve_seal_pending",
        sa.Column("object_id", sa.BigInteger, primary_key=True),
    )
    op.execute(f"GRANT SELECT, INSERT, DELETE ON light_curve_seal_pending TO {WRITER}")
    op.execute(SEAL_FUNCTION)
    op.execute("REVOKE ALL ON FUNCTION seal_light_curve_chunks(bigint[], integer) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION seal_light_curve_chunks(bigint[], integer) TO {WRITER}")
    op.execute("SELECT seal_light_curve_chunks(NULL, 0)")


def downgrade() -> None:
    op.execute("DROP FUNCTION seal_light_curve_chunks(bigint[], integer)")
    op.drop_table("light_curve_seal_pending")
    op.drop_table("light_curve_chunk")
