"""An observer's site: latitude and height beside the longitude, for BJD_TDB at the site.

With the three, a light curve's barycentric Julian dates are computed for the observer's
position on the Earth; without them, for the Earth's centre (at most 21.3 ms off).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE observer ADD COLUMN latitude_deg double precision, "
        "ADD COLUMN height_m double precision, "
        "ADD CONSTRAINT observer_latitude_range CHECK (latitude_deg BETWEEN -90 AND 90), "
        "ADD CONSTRAINT observer_height_range CHECK (height_m BETWEEN -500 AND 10000)"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE observer DROP COLUMN latitude_deg, DROP COLUMN height_m")
