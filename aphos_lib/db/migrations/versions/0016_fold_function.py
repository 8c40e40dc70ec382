"""The fold of pending flux counts as a function whose cost never depends on the statistics.

The fold (:func:`aphos_lib.ingest.fold_flux_counts`) adds each file's flux counts to its
objects and names the stars first seen without a name. As one ``UPDATE ... FROM`` joining
the summed counts, the names and ``catalog_object``, its plan followed the table's
statistics, and those can say that ``catalog_object`` is empty while it holds the fold's
objects: an ``ANALYZE`` that ran while a large first ingest was still storing them (rows
not yet committed count for nothing), or one whose objects were rolled back. The planner then
joined the names once per object: 40 s for a file of 80,000 objects (75 million comparisons),
and a CI run hung for 300 s.

``fold_pending_flux_counts()`` takes the pending rows and sums the counts and picks the names
into two ``jsonb`` maps (plain aggregates, no join), then updates ``catalog_object`` alone:
the rows ``WHERE id = ANY(ids)``, each reading its count and name from the maps. Planned with
the ids as a constant, every plan is linear: an index scan probes the sorted ids, a
sequential scan tests each row against a hashed set. 80,000 objects of a 400,000-row table:
245-280 ms against 180 ms for the join with a good plan; 425 ms one primary-key update at a
time.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

WRITER = "aphos_writer"

# The counts are unnested in the select list (two arrays of one length, zipped): unnesting
# both in FROM materialises every element first, and the fold took half as long again. A star
# named by several files takes the name of the earliest (the lowest pending id).
FOLD_FUNCTION = """
CREATE FUNCTION fold_pending_flux_counts() RETURNS SETOF bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    fold_ids bigint[];
    fold_counts jsonb;
    first_names jsonb;
BEGIN
    WITH moved AS (DELETE FROM flux_count_pending RETURNING *),
         sums AS (SELECT u.id, sum(u.n) AS n
                  FROM (SELECT unnest(object_ids) AS id, unnest(counts) AS n FROM moved) AS u
                  GROUP BY u.id),
         named AS (SELECT DISTINCT ON (u.id) u.id, u.name
                   FROM moved, unnest(moved.named_ids, moved.names) AS u(id, name)
                   ORDER BY u.id, moved.id)
    -- Two one-row aggregates: no join whose plan the statistics could choose.
    SELECT s.ids, s.counts, m.names
    INTO fold_ids, fold_counts, first_names
    FROM (SELECT array_agg(sums.id) AS ids,
                 jsonb_object_agg(sums.id::text, sums.n) AS counts FROM sums) AS s,
         (SELECT jsonb_object_agg(named.id::text, named.name) AS names FROM named) AS m;
    IF fold_ids IS NULL THEN
        RETURN;
    END IF;
    -- EXECUTE plans with the values as constants: a sequential scan would hash the ids.
    RETURN QUERY EXECUTE
        'UPDATE catalog_object o
         SET flux_count = o.flux_count + ($2 ->> o.id::text)::bigint,
             name = coalesce(o.name, $3 ->> o.id::text)
         WHERE o.id = ANY($1)
         RETURNING o.id'
    USING fold_ids, fold_counts, coalesce(first_names, '{}'::jsonb);
END $$
"""


def upgrade() -> None:
    op.execute(FOLD_FUNCTION)
    op.execute("REVOKE ALL ON FUNCTION fold_pending_flux_counts() FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION fold_pending_flux_counts() TO {WRITER}")


def downgrade() -> None:
    op.execute("DROP FUNCTION fold_pending_flux_counts()")
