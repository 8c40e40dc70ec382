"""The fold of pending flux counts as a function whose cost never depends on the statistics.

The fold (:func:`aphos_lib.ingest.fold_flux_counts`) adds each file's flux counts to its
objects and names the stars first seen without a name. As one ``UPDATE ... FROM`` joining
the summed counts, the names and ``catalog_object``, its plan followed the table's
statistics, and those can say that ``catalog_object`` is empty while it holds the fold's
objects: an ``ANALYZE`` that ran while a large first ingest was still storing them (rows
not yet committed count for nothing), or one whose objects were rolled back. The planner then
joined the names once per object: 40 s for a file of 80,000 objects (75 million comparisons),
and a CI run hung for 300 s.

``fold_pending_flux_counts()`` takes the pending rows, sums the counts and picks the names
(each a plain aggregate, no join), and updates each object by its primary key in id order:
one index probe per object, whatever the statistics say (about 25% slower than the set-based
update when its plan is right: 0.7 s against 0.56 s for 80,000 objects).

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
    fold_counts bigint[];
    name_ids bigint[];
    name_values text[];
    n_named integer;
    j integer := 1;
BEGIN
    WITH moved AS (DELETE FROM flux_count_pending RETURNING *),
         sums AS (SELECT u.id, sum(u.n) AS n
                  FROM (SELECT unnest(object_ids) AS id, unnest(counts) AS n FROM moved) AS u
                  GROUP BY u.id),
         named AS (SELECT DISTINCT ON (u.id) u.id, u.name
                   FROM moved, unnest(moved.named_ids, moved.names) AS u(id, name)
                   ORDER BY u.id, moved.id)
    -- Two one-row aggregates: no join whose plan the statistics could choose.
    SELECT s.ids, s.counts, m.ids, m.names
    INTO fold_ids, fold_counts, name_ids, name_values
    FROM (SELECT array_agg(sums.id ORDER BY sums.id) AS ids,
                 array_agg(sums.n ORDER BY sums.id) AS counts FROM sums) AS s,
         (SELECT array_agg(named.id ORDER BY named.id) AS ids,
                 array_agg(named.name ORDER BY named.id) AS names FROM named) AS m;
    n_named := coalesce(cardinality(name_ids), 0);
    -- Both lists are in id order: the names are matched to the counts by one merge.
    FOR i IN 1 .. coalesce(cardinality(fold_ids), 0) LOOP
        WHILE j <= n_named AND name_ids[j] < fold_ids[i] LOOP
            j := j + 1;
        END LOOP;
        IF j <= n_named AND name_ids[j] = fold_ids[i] THEN
            UPDATE catalog_object o SET flux_count = o.flux_count + fold_counts[i],
                                        name = coalesce(o.name, name_values[j])
            WHERE o.id = fold_ids[i];
        ELSE
            UPDATE catalog_object o SET flux_count = o.flux_count + fold_counts[i]
            WHERE o.id = fold_ids[i];
        END IF;
    END LOOP;
    RETURN QUERY SELECT unnest(fold_ids);
END $$
"""


def upgrade() -> None:
    op.execute(FOLD_FUNCTION)
    op.execute("REVOKE ALL ON FUNCTION fold_pending_flux_counts() FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION fold_pending_flux_counts() TO {WRITER}")


def downgrade() -> None:
    op.execute("DROP FUNCTION fold_pending_flux_counts()")
