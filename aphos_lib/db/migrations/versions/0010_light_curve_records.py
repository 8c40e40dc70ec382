"""Light curves read each image and each star's ApAuto values as one fixed-width binary record.

A 5,000-image light curve spent most of its database time evaluating expressions row by row:
fifteen column values per row, each coalesced and cast, gathered into a ``cube`` point and
sent element by element. Here each image and each flux carries its light-curve values
already in their binary wire format:

- ``image.light_curve_record`` (48 bytes): id, exposure middle (``timestamptz``: int8
  microseconds since 2000-01-01), JD of mid-exposure, HJD, observer id, exposure time;
- ``flux.light_curve_record`` (33 bytes): RA, Dec, ApAuto, its deviation, ApAuto saturated.

The image's is a generated column (computed by the database at insert: one row per file).
The flux's is written by the ingest with the row, encoded by numpy
(:mod:`aphos_lib.db.light_curve_records`), like every other flux value: as a generated column
it doubled the cost of inserting a row on the server (1.0 million rows: 0.75 -> 1.65 s,
against 0.82 s written), about 7% of the ingest's time (unpaired runs). Existing rows get
theirs here: the column is added as a generated one (the table's rewrite computes it), then
made a plain column (``DROP EXPRESSION`` keeps the values).

Every value is big-endian (float8 and int8, a missing float as NaN, the flag as one byte). A
light curve concatenates one image record and one record per star for each common image and
aggregates the rows into one ``bytea`` (``string_agg``): no function call per value, one
``memcpy`` to send. 5,000 images at 30 million fluxes: the query 12.9 -> 6.4 ms (prototype,
alternating on one connection).

The indexes a light curve reads carry the records instead of the separate columns, so the
read stays index-only: ``flux_object_image_idx`` includes the flux record alone (the same size
as the five columns it held), ``image_light_curve_idx`` the image record, the filter, the
observer and the upload time (the light curve's conditions).

Adding a stored column rewrites each table (minutes at 30 million fluxes);
``aphos_lib.db.migrate.upgrade`` then VACUUMs them (``VACUUM_AFTER``) so that index-only scans
work at once. The flux table grows by 34 bytes a row (about 10%).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None
VACUUM_AFTER = ["flux", "image"]

IMAGE_RECORD = (
    "int8send(id) || timestamptz_send(exposure_mid) || float8send(coalesce(jd_mid, 'NaN')) || "
    "float8send(coalesce(hjd, 'NaN')) || int8send(observer_id) || "
    "float8send(coalesce(exposure_time_s, 'NaN'))"
)
FLUX_RECORD = (
    "float8send(ra_deg) || float8send(dec_deg) || float8send(coalesce(ap_auto, 'NaN')) || "
    "float8send(coalesce(ap_auto_dev, 'NaN')) || boolsend(ap_auto_saturated)"
)
FLUX_COVERED_BEFORE = "ra_deg, dec_deg, ap_auto, ap_auto_dev, ap_auto_saturated"
IMAGE_COVERED_BEFORE = "exposure_mid, jd_mid, hjd, observer_id, exposure_time_s, filter"


def upgrade() -> None:
    op.execute("DROP INDEX flux_object_image_idx")
    op.execute("DROP INDEX image_light_curve_idx")
    op.execute(
        f"ALTER TABLE image ADD COLUMN light_curve_record bytea NOT NULL "
        f"GENERATED ALWAYS AS ({IMAGE_RECORD}) STORED"
    )
    op.execute(
        f"ALTER TABLE flux ADD COLUMN light_curve_record bytea NOT NULL "
        f"GENERATED ALWAYS AS ({FLUX_RECORD}) STORED"
    )
    op.execute("ALTER TABLE flux ALTER COLUMN light_curve_record DROP EXPRESSION")
    op.execute(
        "CREATE INDEX image_light_curve_idx ON image (id) "
        "INCLUDE (light_curve_record, filter, observer_id, created_at)"
    )
    op.execute(
        "CREATE INDEX flux_object_image_idx ON flux (object_id, image_id) "
        "INCLUDE (light_curve_record) WHERE object_id IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX flux_object_image_idx")
    op.execute("DROP INDEX image_light_curve_idx")
    op.execute("ALTER TABLE flux DROP COLUMN light_curve_record")
    op.execute("ALTER TABLE image DROP COLUMN light_curve_record")
    op.execute(f"CREATE INDEX image_light_curve_idx ON image (id) INCLUDE ({IMAGE_COVERED_BEFORE})")
    op.execute(
        f"CREATE INDEX flux_object_image_idx ON flux (object_id, image_id) "
        f"INCLUDE ({FLUX_COVERED_BEFORE}) WHERE object_id IS NOT NULL"
    )
