"""The catalogue: observers, catalogue objects, uploads, images and fluxes; the three roles.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

F8 = pg.DOUBLE_PRECISION()
TZ = sa.DateTime(timezone=True)
WRITER = "aphos_writer"
READER = "aphos_reader"


def _roles() -> None:
    # The embedded server creates these as login roles before migrating; on an external server
    # they are created here as group roles. Creating roles needs CREATEROLE: when the owner
    # lacks it, an administrator must create them, and the migration says so.
    # A unique violation: another database of this server created the role at that moment.
    create = "".join(
        f"""
          BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
              CREATE ROLE {role} NOLOGIN;
            END IF;
          EXCEPTION WHEN unique_violation OR duplicate_object THEN
            NULL;
          END;"""
        for role in (WRITER, READER)
    )
    op.execute(
        f"""
        DO $$
        BEGIN{create}
        EXCEPTION WHEN insufficient_privilege THEN
          RAISE EXCEPTION 'roles {WRITER} and {READER} are missing and % may not create them: '
                          'ask an administrator to CREATE ROLE them', current_user;
        END $$;
        """
    )


def _grants() -> None:
    tables = "observer, catalog_object, upload, upload_file, image, flux"
    op.execute(f"GRANT USAGE ON SCHEMA public TO {WRITER}, {READER}")
    op.execute(f"GRANT SELECT ON {tables} TO {READER}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON {tables} TO {WRITER}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {WRITER}")
    # Tables later migrations create get the same grants without each one repeating them.
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {READER}")
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE ON TABLES TO {WRITER}"
    )
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {WRITER}"
    )


def upgrade() -> None:
    _roles()
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")

    op.create_table(
        "observer",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("provider", sa.Text, nullable=False, server_default="local"),
        sa.Column("subject", sa.Text),
        sa.Column("hub_user", sa.Text, unique=True),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("provider", "subject", name="observer_provider_subject_key"),
    )
    op.create_index(
        "observer_username_lower_key", "observer", [sa.text("lower(username)")], unique=True
    )

    op.create_table(
        "catalog_object",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("catalog", sa.Text, nullable=False),
        sa.Column("catalog_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("ra_deg", F8, nullable=False),
        sa.Column("dec_deg", F8, nullable=False),
        sa.Column("mag", F8),
        sa.Column("bv", F8),
        sa.Column("jk", F8),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("catalog", "catalog_id", name="catalog_object_catalog_id_key"),
        sa.CheckConstraint("ra_deg >= 0 AND ra_deg < 360", name="catalog_object_ra_range"),
        sa.CheckConstraint("dec_deg BETWEEN -90 AND 90", name="catalog_object_dec_range"),
    )
    op.create_index("catalog_object_mag_idx", "catalog_object", ["mag"])
    op.create_index("catalog_object_dec_idx", "catalog_object", ["dec_deg"])
    op.create_index(
        "catalog_object_name_trgm_idx",
        "catalog_object",
        ["name"],
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )

    op.create_table(
        "upload",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("observer_id", sa.BigInteger, sa.ForeignKey("observer.id"), nullable=False),
        sa.Column("client", sa.Text, nullable=False, server_default="cli"),
        sa.Column("state", sa.Text, nullable=False, server_default="running"),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", TZ),
    )
    op.create_index("upload_observer_idx", "upload", ["observer_id", "created_at"])

    op.create_table(
        "image",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("observer_id", sa.BigInteger, sa.ForeignKey("observer.id"), nullable=False),
        sa.Column("upload_id", sa.BigInteger, sa.ForeignKey("upload.id")),
        sa.Column("sha256", sa.LargeBinary, nullable=False),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("encoding", sa.Text, nullable=False),
        sa.Column("exposure_begin", TZ, nullable=False),
        sa.Column("exposure_end", TZ, nullable=False),
        sa.Column("exposure_mid", TZ, nullable=False),
        sa.Column("exposure_time_s", F8),
        sa.Column("jd_begin", F8),
        sa.Column("jd_end", F8),
        sa.Column("jd_mid", F8),
        sa.Column("hjd", F8),
        sa.Column("filter", sa.Text),
        sa.Column("center_ra_deg", F8),
        sa.Column("center_dec_deg", F8),
        sa.Column("header", pg.JSONB, nullable=False),
        sa.Column("columns", pg.ARRAY(sa.Text), nullable=False),
        sa.Column("apertures", sa.Integer, nullable=False),
        sa.Column("flux_count", sa.Integer, nullable=False),
        sa.Column("matched_count", sa.Integer, nullable=False),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("observer_id", "sha256", name="image_observer_sha256_key"),
        sa.CheckConstraint("exposure_end >= exposure_begin", name="image_exposure_order"),
    )
    op.create_index("image_exposure_mid_idx", "image", ["exposure_mid"])
    op.create_index("image_created_at_idx", "image", ["created_at"])

    op.create_table(
        "upload_file",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "upload_id",
            sa.BigInteger,
            sa.ForeignKey("upload.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("sha256", sa.LargeBinary),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("image_id", sa.BigInteger, sa.ForeignKey("image.id")),
        sa.Column("fluxes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("matched", sa.Integer, nullable=False, server_default="0"),
        sa.Column("unmatched", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rejected_rows", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("warnings", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("error", sa.Text),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(
            "status IN ('stored', 'duplicate', 'rejected')", name="upload_file_status"
        ),
    )
    op.create_index(
        "upload_file_upload_position_key", "upload_file", ["upload_id", "position"], unique=True
    )

    # No foreign keys on flux: see aphos_lib/db/models.py.
    op.create_table(
        "flux",
        sa.Column("image_id", sa.BigInteger, primary_key=True),
        sa.Column("line", sa.Integer, primary_key=True),
        sa.Column("object_id", sa.BigInteger),
        sa.Column("name", sa.Text),
        sa.Column("x", F8),
        sa.Column("y", F8),
        sa.Column("adu", F8),
        sa.Column("ra_deg", F8, nullable=False),
        sa.Column("dec_deg", F8, nullable=False),
        sa.Column("background", F8),
        sa.Column("background_dev", F8),
        sa.Column("ap_auto", F8),
        sa.Column("ap_auto_dev", F8),
        sa.Column("ap_auto_saturated", sa.Boolean, nullable=False),
        sa.Column("ap", pg.ARRAY(F8), nullable=False),
        sa.Column("ap_dev", pg.ARRAY(F8), nullable=False),
        sa.Column("ap_saturated", pg.ARRAY(sa.Boolean), nullable=False),
    )
    op.create_index(
        "flux_object_image_idx",
        "flux",
        ["object_id", "image_id"],
        postgresql_where=sa.text("object_id IS NOT NULL"),
    )
    _grants()


def downgrade() -> None:
    for table in ("flux", "upload_file", "image", "upload", "catalog_object", "observer"):
        op.drop_table(table)
