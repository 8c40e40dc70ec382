"""Half of each catalogue page left free, so that a fold rewrites every star's count in place.

``fold_flux_counts`` updates the flux count of every star a batch measured, which on a page is
most of its rows at once. An update stays HOT (no new entry in any of the five indexes: id,
catalogue and id, magnitude, name trigrams, position) only while its page has room for the new
row version. At fillfactor 80 a page had room for about a quarter of its rows: folding the
4,953 stars of 22 images wrote 27,243 WAL records (2.9 MB), one new entry per index for three
stars in four, so the indexes grew with every fold, and took 57 ms. At 50 every row of a page
can be updated once (the next fold prunes the old versions first): 5,287 records (0.4 MB),
24 ms. The table is about twice as large (some 120 bytes a star: 24 MB for 100,000 stars).

Existing pages are rewritten (CLUSTER on the primary key: the rows' order is their insertion
order already) so that they get the room too; ``aphos_lib.db.migrate.upgrade`` then VACUUMs the
table (``VACUUM_AFTER``), which a migration's transaction cannot, so that index-only scans
work again at once.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None
VACUUM_AFTER = ["catalog_object"]


def _rewrite(fillfactor: int) -> None:
    op.execute(f"ALTER TABLE catalog_object SET (fillfactor = {fillfactor})")
    op.execute("CLUSTER catalog_object USING catalog_object_pkey")
    op.execute("ALTER TABLE catalog_object SET WITHOUT CLUSTER")


def upgrade() -> None:
    _rewrite(50)


def downgrade() -> None:
    _rewrite(80)
