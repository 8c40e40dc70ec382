"""Search: maintained flux counts, a cone-search index, catalogue totals, observer longitude.

- ``catalog_object.flux_count`` is kept up to date by the ingest, so a search never counts
  fluxes (the original APhoS joined and counted on every search: 1.4 s for one cone).
- ``sky_vector(ra, dec)`` is the unit vector of a position as a ``cube``; a GiST index on it
  answers a cone as a box around the cone's chord, with no special case at RA 0/360 or at
  the poles. The exact angular distance then trims the box to the cone.
- ``catalogue_totals`` holds the number of objects, kept by a statement trigger, because
  counting 100,000 rows costs more than the whole unfiltered search may take.
- ``observer.longitude_deg`` (east positive) places an observer's nights at local noon.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS cube")
    op.execute(
        """
        CREATE FUNCTION sky_vector(ra_deg float8, dec_deg float8) RETURNS cube
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        RETURN cube(ARRAY[cosd(dec_deg) * cosd(ra_deg), cosd(dec_deg) * sind(ra_deg),
                          sind(dec_deg)])
        """
    )
    op.execute(
        "CREATE INDEX catalog_object_sky_idx ON catalog_object "
        "USING gist (sky_vector(ra_deg, dec_deg))"
    )

    op.add_column(
        "catalog_object",
        sa.Column("flux_count", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.execute(
        """
        UPDATE catalog_object o SET flux_count = f.n
        FROM (SELECT object_id, count(*) AS n FROM flux
              WHERE object_id IS NOT NULL GROUP BY object_id) f
        WHERE o.id = f.object_id
        """
    )
    # Every ingest rewrites the counts of the stars it measured: leave room on each page so
    # those updates stay HOT (no index entries written).
    op.execute("ALTER TABLE catalog_object SET (fillfactor = 80)")

    op.create_table(
        "catalogue_totals",
        sa.Column("id", sa.Boolean, primary_key=True, server_default=sa.true()),
        sa.Column("objects", sa.BigInteger, nullable=False),
        sa.CheckConstraint("id", name="catalogue_totals_one_row"),
    )
    op.execute("INSERT INTO catalogue_totals (objects) SELECT count(*) FROM catalog_object")
    op.execute(
        """
        CREATE FUNCTION catalogue_totals_count_objects() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
          added bigint := (SELECT count(*) FROM inserted);
        BEGIN
          -- Skip the row lock when an upsert inserted nothing: most files add no new star.
          IF added > 0 THEN
            UPDATE catalogue_totals SET objects = objects + added;
          END IF;
          RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER catalog_object_count AFTER INSERT ON catalog_object "
        "REFERENCING NEW TABLE AS inserted "
        "FOR EACH STATEMENT EXECUTE FUNCTION catalogue_totals_count_objects()"
    )

    op.add_column("observer", sa.Column("longitude_deg", pg.DOUBLE_PRECISION()))
    op.create_check_constraint(
        "observer_longitude_range", "observer", "longitude_deg BETWEEN -180 AND 180"
    )


def downgrade() -> None:
    op.drop_constraint("observer_longitude_range", "observer")
    op.drop_column("observer", "longitude_deg")
    op.execute("DROP TRIGGER catalog_object_count ON catalog_object")
    op.execute("DROP FUNCTION catalogue_totals_count_objects()")
    op.drop_table("catalogue_totals")
    op.execute("ALTER TABLE catalog_object RESET (fillfactor)")
    op.drop_column("catalog_object", "flux_count")
    op.execute("DROP INDEX catalog_object_sky_idx")
    op.execute("DROP FUNCTION sky_vector(float8, float8)")
