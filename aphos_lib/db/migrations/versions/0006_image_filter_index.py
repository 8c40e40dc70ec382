"""Filters by index: a light curve names its images' filters from the distinct values.

The columnar light-curve read (``aphos_lib.photometry_columns``) returns each image's filter
as a small number, its place in the list of distinct filters, which a recursive query reads
by skipping through this index (one probe per filter) instead of scanning every image.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("image_filter_idx", "image", ["filter"])


def downgrade() -> None:
    op.drop_index("image_filter_idx", "image")
