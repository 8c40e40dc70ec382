"""Photometric solutions: each image's zero point and colour term per aperture.

``image_solution`` keeps, for every image and aperture (0: ``ApAuto``, k: ``Ap<k>``), the robust
fit of catalogue magnitude minus instrumental magnitude over the image's matched, unsaturated
stars (:mod:`aphos_lib.photometric_solution`): zero point, colour term on B-V where the colours
allow, their errors and covariance, the RMS of the residuals, the stars used and clipped and
the magnitude and colour ranges fitted. The ingest stores an image's solutions with it; this
migration fits the images stored before it from their rows. Calibrated magnitudes are
computed from them when read (:mod:`aphos_lib.calibration`), never stored twice.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

READER = "aphos_reader"
WRITER = "aphos_writer"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE image_solution (
            image_id bigint NOT NULL REFERENCES image (id) ON DELETE CASCADE,
            aperture smallint NOT NULL,
            zero_point float8 NOT NULL,
            zero_point_err float8 NOT NULL,
            colour_term float8,
            colour_term_err float8,
            colour_ref float8,
            covariance float8 NOT NULL,
            rms float8 NOT NULL,
            n_stars integer NOT NULL,
            n_clipped integer NOT NULL,
            mag_min float8 NOT NULL,
            mag_max float8 NOT NULL,
            colour_min float8,
            colour_max float8,
            PRIMARY KEY (image_id, aperture),
            CONSTRAINT image_solution_aperture CHECK (aperture >= 0)
        )
        """
    )
    op.execute(f"REVOKE ALL ON image_solution FROM {READER}, {WRITER}")
    op.execute(f"GRANT SELECT ON image_solution TO {READER}")
    op.execute(f"GRANT SELECT, INSERT ON image_solution TO {WRITER}")

    from aphos_lib.calibration import solve_stored_images

    solve_stored_images(op.get_bind().connection.dbapi_connection)


def downgrade() -> None:
    op.execute("DROP TABLE image_solution")
