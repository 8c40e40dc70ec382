"""Flux counts added per batch: a file's counts wait in ``flux_count_pending``.

Updating ~2,000 objects' ``flux_count`` in every file's transaction was a third of the ingest's
time (bench/ingest.py: 61,000 fluxes/s with it, 93,000 without): each file rewrote the rows of
its field's stars, and a field's next file rewrote them again. Now a file's transaction only
appends one row here, its objects and their numbers of fluxes as two arrays, in the same
transaction as its fluxes, and
:func:`aphos_lib.ingest.fold_flux_counts` adds the pending counts to ``catalog_object`` once per
batch of files, one update per star. Rows a killed ingest left are folded by the next one.

The table is the writer's (who may delete from it, and from no other table); the reader
role gets no access.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

READER = "aphos_reader"
WRITER = "aphos_writer"


def upgrade() -> None:
    op.create_table(
        "flux_count_pending",
        sa.Column("object_ids", sa.ARRAY(sa.BigInteger), nullable=False),
        sa.Column("counts", sa.ARRAY(sa.Integer), nullable=False),
    )
    op.execute(f"REVOKE ALL ON flux_count_pending FROM {READER}")
    # The writer deletes nothing elsewhere; here a fold empties what it added to the objects.
    op.execute(f"GRANT DELETE ON flux_count_pending TO {WRITER}")


def downgrade() -> None:
    # Fold what is pending first, so no count is lost.
    op.execute("""
        UPDATE catalog_object o SET flux_count = o.flux_count + p.n
        FROM (SELECT u.object_id, sum(u.n) AS n
              FROM flux_count_pending, unnest(object_ids, counts) AS u(object_id, n)
              GROUP BY u.object_id) p
        WHERE o.id = p.object_id
    """)
    op.drop_table("flux_count_pending")
