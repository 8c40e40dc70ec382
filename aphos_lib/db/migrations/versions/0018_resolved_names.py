"""Star names resolved to positions by CDS Sesame, kept so that each is asked once.

A search by a name that no stored object carries asks CDS Sesame for its position
(:mod:`aphos_lib.name_resolution`) and searches the cone around it. ``resolved_name`` keeps
the answers, keyed by the name in lower case with its whitespace collapsed (``gk cep``),
with the database that answered (Simbad, NED, VizieR) and when.

Only the writer adds rows (the api and worker services, ``aphos`` commands run as the
writer): the reader, which every dashboard and workspace kernel holds, may read the answers
but could otherwise fill the table with made-up positions that every search then trusts.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

READER = "aphos_reader"
WRITER = "aphos_writer"


def upgrade() -> None:
    op.create_table(
        "resolved_name",
        sa.Column("name_key", sa.Text, primary_key=True),
        sa.Column("ra_deg", pg.DOUBLE_PRECISION(), nullable=False),
        sa.Column("dec_deg", pg.DOUBLE_PRECISION(), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column(
            "resolved_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint("ra_deg >= 0 AND ra_deg < 360", name="resolved_name_ra_range"),
        sa.CheckConstraint("dec_deg BETWEEN -90 AND 90", name="resolved_name_dec_range"),
        sa.CheckConstraint("name_key <> ''", name="resolved_name_key_not_empty"),
    )
    # Explicit, whatever the default privileges: the reader reads, the writer adds; neither
    # changes or removes an answer.
    op.execute(f"REVOKE ALL ON resolved_name FROM {READER}, {WRITER}")
    op.execute(f"GRANT SELECT ON resolved_name TO {READER}")
    op.execute(f"GRANT SELECT, INSERT ON resolved_name TO {WRITER}")


def downgrade() -> None:
    op.drop_table("resolved_name")
