"""A file's outcome lists at most 1,000 rejected rows and warnings, and counts them all.

``upload_file`` kept every rejected row's line and reason: a table pasted 38 times gave 98,827
of them, 4 MB of JSON in one row that every look at the upload read. The ingest now records the
first :data:`LISTED` of each (``aphos_lib.ingest.LISTED_ROWS``) and their numbers in
``rejected_count`` and ``warning_count``. Existing outcomes get their counts here, and lists
longer than that are cut to their first :data:`LISTED` entries.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-05
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

LISTED = 1000  # a copy of aphos_lib.ingest.LISTED_ROWS when this revision was written


def upgrade() -> None:
    op.execute(
        "ALTER TABLE upload_file ADD COLUMN rejected_count integer NOT NULL DEFAULT 0, "
        "ADD COLUMN warning_count integer NOT NULL DEFAULT 0"
    )
    op.execute(
        "UPDATE upload_file SET rejected_count = jsonb_array_length(rejected_rows), "
        "warning_count = jsonb_array_length(warnings) "
        "WHERE rejected_rows <> '[]' OR warnings <> '[]'"
    )
    for column in ("rejected_rows", "warnings"):
        op.execute(
            f"UPDATE upload_file SET {column} = (SELECT jsonb_agg(e ORDER BY n) "
            f"FROM jsonb_array_elements({column}) WITH ORDINALITY AS t(e, n) WHERE n <= {LISTED}) "
            f"WHERE jsonb_array_length({column}) > {LISTED}"
        )


def downgrade() -> None:
    op.execute("ALTER TABLE upload_file DROP COLUMN rejected_count, DROP COLUMN warning_count")
