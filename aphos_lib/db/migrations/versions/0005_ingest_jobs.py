"""Uploads as jobs: the files an upload received, and the ingest job queue.

- ``upload_input``: each file an upload received, stored under a server-generated name
  (``stored_name``, relative to ``$APHOS_HOME/uploads``); the client's filename is metadata.
- ``ingest_job``: one job per upload, claimed by a worker with ``FOR UPDATE SKIP LOCKED``.
  A running job whose ``heartbeat_at`` is older than the worker timeout is taken over by
  another worker; ``attempts`` counts claims and stops at ``max_attempts``.
- Both are private to their observer: the reader role (dashboards, user kernels) gets no
  access; only the api and worker services (writer) read and write them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
READER = "aphos_reader"


def upgrade() -> None:
    op.create_table(
        "upload_input",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "upload_id",
            sa.BigInteger,
            sa.ForeignKey("upload.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("stored_name", sa.Text, nullable=False, unique=True),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.LargeBinary, nullable=False),
        sa.Column("received_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("upload_id", "position", name="upload_input_upload_position_key"),
    )
    op.create_table(
        "ingest_job",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "upload_id",
            sa.BigInteger,
            sa.ForeignKey("upload.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("observer_id", sa.BigInteger, sa.ForeignKey("observer.id"), nullable=False),
        sa.Column("state", sa.Text, nullable=False, server_default="queued"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("max_attempts", sa.Integer, nullable=False, server_default="3"),
        sa.Column("worker", sa.Text),
        sa.Column("heartbeat_at", TZ),
        sa.Column("files_total", sa.Integer, nullable=False),
        sa.Column("files_done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("report_path", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("started_at", TZ),
        sa.Column("finished_at", TZ),
        sa.CheckConstraint(
            "state IN ('queued', 'running', 'done', 'failed')", name="ingest_job_state"
        ),
    )
    # Workers scan only the jobs still to do; observers' in-flight limits count theirs.
    op.execute(
        "CREATE INDEX ingest_job_pending_idx ON ingest_job (id) "
        "WHERE state IN ('queued', 'running')"
    )
    op.create_index("ingest_job_observer_idx", "ingest_job", ["observer_id", "state"])
    op.execute(f"REVOKE ALL ON upload_input, ingest_job FROM {READER}")


def downgrade() -> None:
    op.drop_table("ingest_job")
    op.drop_table("upload_input")
