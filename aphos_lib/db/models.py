"""The catalogue's tables as SQLAlchemy 2 typed models.

The schema itself is owned by the Alembic migrations in ``aphos_lib/db/migrations``; these
models describe it for queries, and a test checks that the two agree.

``flux`` deliberately declares no foreign keys: a per-row foreign-key check makes a COPY of
fluxes several times slower (measured: 82,000 rows/s with three keys against 430,000 without).
Its integrity comes from the ingest, which writes an image, its objects and its fluxes in one
transaction, and from the fact that images are never deleted row by row. It is also the shape
Citus needs to distribute ``flux`` by ``image_id``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, DOUBLE_PRECISION, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from aphos_lib.db import light_curve_records as records

Float8 = DOUBLE_PRECISION


class Base(DeclarativeBase):
    """Declarative base of the catalogue models."""


class ObserverRow(Base):
    """Someone who uploads photometry.

    Identified by the sign-in provider's stable subject id (``provider``, ``subject``), never by
    e-mail. ``username`` is the public name they chose, unique regardless of case.
    """

    __tablename__ = "observer"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    username: Mapped[str] = mapped_column(Text)
    provider: Mapped[str] = mapped_column(Text, server_default="local")
    subject: Mapped[str | None] = mapped_column(Text)
    hub_user: Mapped[str | None] = mapped_column(Text, unique=True)
    description: Mapped[str] = mapped_column(Text, server_default="")
    # East positive; places the observer's nights at local noon (12:00 UTC when unknown).
    longitude_deg: Mapped[float | None] = mapped_column(Float8)
    # With the longitude, the site where BJD_TDB is computed (the Earth's centre when unknown).
    latitude_deg: Mapped[float | None] = mapped_column(Float8)
    height_m: Mapped[float | None] = mapped_column(Float8)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("observer_username_lower_key", func.lower(text("username")), unique=True),
        UniqueConstraint("provider", "subject", name="observer_provider_subject_key"),
        CheckConstraint("longitude_deg BETWEEN -180 AND 180", name="observer_longitude_range"),
        CheckConstraint("latitude_deg BETWEEN -90 AND 90", name="observer_latitude_range"),
        CheckConstraint("height_m BETWEEN -500 AND 10000", name="observer_height_range"),
    )


class CatalogObjectRow(Base):
    """A catalogue star's row, keyed by (catalogue, catalogue id), e.g. (UCAC4, 805-031770).

    The table's description; the star as the library hands it out is
    :class:`aphos_lib.search.CatalogObject`.
    """

    __tablename__ = "catalog_object"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    catalog: Mapped[str] = mapped_column(Text)
    catalog_id: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    ra_deg: Mapped[float] = mapped_column(Float8)
    dec_deg: Mapped[float] = mapped_column(Float8)
    mag: Mapped[float | None] = mapped_column(Float8)
    bv: Mapped[float | None] = mapped_column(Float8)
    jk: Mapped[float | None] = mapped_column(Float8)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Maintained by the ingest (never counted at query time); see migration 0002.
    flux_count: Mapped[int] = mapped_column(BigInteger, server_default="0")
    # Its star and why it is in it (migration 0017, aphos_lib.cross_identification): a new
    # object founds a star with its own id, which the next fold may merge into another.
    star_id: Mapped[int | None] = mapped_column(BigInteger)
    link_reason: Mapped[str | None] = mapped_column(Text)
    link_separation_arcsec: Mapped[float | None] = mapped_column(Float8)
    link_mag_diff: Mapped[float | None] = mapped_column(Float8)
    linked_to: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("catalog", "catalog_id", name="catalog_object_catalog_id_key"),
        Index("catalog_object_star_idx", "star_id"),
        Index(
            "catalog_object_catalog_id_idx",
            "catalog_id",
            postgresql_ops={"catalog_id": "text_pattern_ops"},
        ),
        CheckConstraint("ra_deg >= 0 AND ra_deg < 360", name="catalog_object_ra_range"),
        CheckConstraint("dec_deg BETWEEN -90 AND 90", name="catalog_object_dec_range"),
        Index("catalog_object_mag_idx", "mag"),
        Index(
            "catalog_object_name_trgm_idx",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        ),
        # Cone search: a cone's bounding boxes (aphos_lib/queries/objects.py), migration 0003.
        Index(
            "catalog_object_position_idx",
            text("point(ra_deg, dec_deg)"),
            postgresql_using="spgist",
        ),
    )


# One row per stored file: its objects and how many of its fluxes each has, and the names it
# gives stars, until the batch's fold adds them to catalog_object (migration 0007,
# aphos_lib.ingest.fold_flux_counts). The id orders the files: the earliest name wins.
flux_count_pending = Table(
    "flux_count_pending",
    Base.metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("object_ids", ARRAY(BigInteger), nullable=False),
    Column("counts", ARRAY(Integer), nullable=False),
    Column("named_ids", ARRAY(BigInteger), nullable=False),
    Column("names", ARRAY(Text), nullable=False),
)


class StarRow(Base):
    """A star: the catalogue objects that are one object on the sky (migration 0017).

    Every column but the id is kept from its members by ``refresh_stars`` so that a search
    reads one row per star: the mean position, the leading member (UCAC4 first, APhoS
    sources last) and its name and magnitudes, every identifier (``CATALOG ID``), the
    catalogues, the members' names (trigram-indexed) and their number of fluxes.
    """

    __tablename__ = "star"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    primary_object_id: Mapped[int] = mapped_column(BigInteger)
    catalog: Mapped[str] = mapped_column(Text)
    catalog_id: Mapped[str] = mapped_column(Text)
    ra_deg: Mapped[float] = mapped_column(Float8)
    dec_deg: Mapped[float] = mapped_column(Float8)
    name: Mapped[str | None] = mapped_column(Text)
    mag: Mapped[float | None] = mapped_column(Float8)
    bv: Mapped[float | None] = mapped_column(Float8)
    jk: Mapped[float | None] = mapped_column(Float8)
    identifiers: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    catalogs: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    names: Mapped[str | None] = mapped_column(Text)
    flux_count: Mapped[int] = mapped_column(BigInteger, server_default="0")
    members: Mapped[int] = mapped_column(Integer, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("star_position_idx", text("point(ra_deg, dec_deg)"), postgresql_using="spgist"),
        Index(
            "star_names_trgm_idx",
            "names",
            postgresql_using="gin",
            postgresql_ops={"names": "gin_trgm_ops"},
        ),
        Index("star_mag_idx", "mag"),
        Index("star_catalogs_idx", "catalogs", postgresql_using="gin"),
        Index("star_catalog_id_idx", "catalog", "catalog_id"),
        {"postgresql_with": {"fillfactor": "50"}},
    )


# The objects stored since the last fold, one row per file, which its linking takes
# (migration 0017).
link_pending = Table(
    "link_pending",
    Base.metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("object_ids", ARRAY(BigInteger), nullable=False),
)


class CatalogueTotals(Base):
    """The catalogue's single row of maintained totals (a trigger counts inserted objects;
    the linking counts the stars)."""

    __tablename__ = "catalogue_totals"

    id: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default=text("true"))
    objects: Mapped[int] = mapped_column(BigInteger)
    stars: Mapped[int] = mapped_column(BigInteger, server_default="0")

    __table_args__ = (CheckConstraint("id", name="catalogue_totals_one_row"),)


class Upload(Base):
    """One sending of one or more files by an observer (a CLI run, an API request)."""

    __tablename__ = "upload"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    observer_id: Mapped[int] = mapped_column(ForeignKey("observer.id"))
    client: Mapped[str] = mapped_column(Text, server_default="cli")
    state: Mapped[str] = mapped_column(Text, server_default="running")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("upload_observer_idx", "observer_id", "created_at"),)


class UploadFile(Base):
    """The outcome of one file of an upload: stored, duplicate or rejected, and why."""

    __tablename__ = "upload_file"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("upload.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # the file's place in the upload, from 0
    filename: Mapped[str] = mapped_column(Text)
    sha256: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(Text)  # stored | duplicate | rejected
    image_id: Mapped[int | None] = mapped_column(ForeignKey("image.id"))
    fluxes: Mapped[int] = mapped_column(Integer, server_default="0")
    matched: Mapped[int] = mapped_column(Integer, server_default="0")
    unmatched: Mapped[int] = mapped_column(Integer, server_default="0")
    # The first rows rejected and warnings (aphos_lib.ingest.LISTED_ROWS), and how many in all.
    rejected_rows: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    rejected_count: Mapped[int] = mapped_column(Integer, server_default="0")
    warnings: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
    warning_count: Mapped[int] = mapped_column(Integer, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    new_sources: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("upload_file_upload_position_key", "upload_id", "position", unique=True),
        CheckConstraint("status IN ('stored', 'duplicate', 'rejected')", name="upload_file_status"),
    )


class UploadInput(Base):
    """A file an upload received, kept under a server-generated name until its job has run.

    ``stored_name`` is relative to ``$APHOS_HOME/uploads``; ``filename`` is what the client
    called the file, metadata only (``../../x`` there names nothing on disk).
    """

    __tablename__ = "upload_input"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("upload.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(Text)
    stored_name: Mapped[str] = mapped_column(Text, unique=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        UniqueConstraint("upload_id", "position", name="upload_input_upload_position_key"),
    )


class IngestJob(Base):
    """The job that ingests one upload: queued, claimed by a worker, heartbeats, done or failed.

    Claimed with ``FOR UPDATE SKIP LOCKED``; a running job whose heartbeat is older than the
    worker timeout is taken over; ``attempts`` stops at ``max_attempts``.
    """

    __tablename__ = "ingest_job"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("upload.id", ondelete="CASCADE"), unique=True)
    observer_id: Mapped[int] = mapped_column(ForeignKey("observer.id"))
    state: Mapped[str] = mapped_column(Text, server_default="queued")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    max_attempts: Mapped[int] = mapped_column(Integer, server_default="3")
    worker: Mapped[str | None] = mapped_column(Text)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    files_total: Mapped[int] = mapped_column(Integer)
    files_done: Mapped[int] = mapped_column(Integer, server_default="0")
    report_path: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(
            "state IN ('queued', 'running', 'done', 'failed')", name="ingest_job_state"
        ),
        Index(
            "ingest_job_pending_idx",
            "id",
            postgresql_where=text("state IN ('queued', 'running')"),
        ),
        Index("ingest_job_observer_idx", "observer_id", "state"),
    )


class Image(Base):
    """One SIPS file: one CCD image of a field, with its header kept losslessly.

    ``identity`` identifies the exposure (:mod:`aphos_lib.db.exposure_identity`: its times,
    filter and values, not the file's bytes): the same exposure sent again by the same
    observer, in any encoding or line ends, is recognised and stores nothing. It is NULL only
    on images that repeated an earlier one before migration 0011. ``sha256`` is the hash of the
    bytes received.
    """

    __tablename__ = "image"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    observer_id: Mapped[int] = mapped_column(ForeignKey("observer.id"))
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("upload.id"))
    sha256: Mapped[bytes] = mapped_column(LargeBinary)
    identity: Mapped[bytes | None] = mapped_column(LargeBinary)
    filename: Mapped[str] = mapped_column(Text)
    encoding: Mapped[str] = mapped_column(Text)
    exposure_begin: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    exposure_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    exposure_mid: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    exposure_time_s: Mapped[float | None] = mapped_column(Float8)
    jd_begin: Mapped[float | None] = mapped_column(Float8)
    jd_end: Mapped[float | None] = mapped_column(Float8)
    jd_mid: Mapped[float | None] = mapped_column(Float8)
    hjd: Mapped[float | None] = mapped_column(Float8)
    filter: Mapped[str | None] = mapped_column(Text)
    center_ra_deg: Mapped[float | None] = mapped_column(Float8)
    center_dec_deg: Mapped[float | None] = mapped_column(Float8)
    header: Mapped[list[list[Any]]] = mapped_column(JSONB)
    columns: Mapped[list[str]] = mapped_column(ARRAY(Text))
    apertures: Mapped[int] = mapped_column(Integer)
    flux_count: Mapped[int] = mapped_column(Integer)
    matched_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    light_curve_record: Mapped[bytes] = mapped_column(
        LargeBinary, Computed(records.IMAGE_RECORD, persisted=True)
    )

    __table_args__ = (
        UniqueConstraint("observer_id", "identity", name="image_observer_identity_key"),
        CheckConstraint("exposure_end >= exposure_begin", name="image_exposure_order"),
        Index("image_exposure_mid_idx", "exposure_mid"),
        Index("image_created_at_idx", "created_at"),
        Index("image_filter_idx", "filter"),
        # A light curve's images, index-only (migrations 0008, 0010).
        Index(
            "image_light_curve_idx",
            "id",
            postgresql_include=["light_curve_record", "filter", "observer_id", "created_at"],
        ),
    )


class Flux(Base):
    """One row of a SIPS table: one source measured in one image.

    ``object_id`` is NULL when SIPS matched the source to no catalogue star (the row is still
    kept). Fluxes are float8; a saturated value is NULL with its ``*_saturated`` flag set, and a
    missing deviation is NULL, never 0. ``ap[k-1]`` is the flux in aperture ``Ap<k>``.
    """

    __tablename__ = "flux"

    image_id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    object_id: Mapped[int | None] = mapped_column(BigInteger)
    name: Mapped[str | None] = mapped_column(Text)
    x: Mapped[float | None] = mapped_column(Float8)
    y: Mapped[float | None] = mapped_column(Float8)
    adu: Mapped[float | None] = mapped_column(Float8)
    ra_deg: Mapped[float] = mapped_column(Float8)
    dec_deg: Mapped[float] = mapped_column(Float8)
    background: Mapped[float | None] = mapped_column(Float8)
    background_dev: Mapped[float | None] = mapped_column(Float8)
    ap_auto: Mapped[float | None] = mapped_column(Float8)
    ap_auto_dev: Mapped[float | None] = mapped_column(Float8)
    ap_auto_saturated: Mapped[bool] = mapped_column(Boolean)
    ap: Mapped[list[float | None]] = mapped_column(ARRAY(Float8))
    ap_dev: Mapped[list[float | None]] = mapped_column(ARRAY(Float8))
    ap_saturated: Mapped[list[bool]] = mapped_column(ARRAY(Boolean))
    # Written by the ingest (aphos_lib.db.light_curve_records), not generated: see migration 0010.
    light_curve_record: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        Index(
            "flux_object_image_idx",
            "object_id",
            "image_id",
            postgresql_where=text("object_id IS NOT NULL"),
            # Light curves in ApAuto are index-only scans (migrations 0004, 0010).
            postgresql_include=["light_curve_record"],
        ),
    )


class LightCurveChunk(Base):
    """A catalogue object's light-curve records up to an image, sealed (migration 0015).

    ``records`` holds, for each of the object's fluxes with ``image_id`` after the previous
    chunk's ``through_image_id`` and up to this one's, the image id (int8) and the flux's
    ``light_curve_record``, in image order; ``n`` of them, ``n_through`` counting the chunks
    before. Written by the database function ``seal_light_curve_chunks``, never changed.
    """

    __tablename__ = "light_curve_chunk"

    object_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    through_image_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    n_through: Mapped[int] = mapped_column(BigInteger)
    n: Mapped[int] = mapped_column(Integer)
    records: Mapped[bytes] = mapped_column(LargeBinary)


class LightCurveSealPending(Base):
    """An object whose chunk a seal had to skip, sealed by the next one (migration 0015)."""

    __tablename__ = "light_curve_seal_pending"

    object_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class ImageSolution(Base):
    """An image's photometric solution in one aperture (migration 0019): the zero point and
    colour term that turn its instrumental magnitudes into catalogue magnitudes
    (:mod:`aphos_lib.photometric_solution`). ``aperture`` 0 is ``ApAuto``, k ``Ap<k>``."""

    __tablename__ = "image_solution"

    image_id: Mapped[int] = mapped_column(
        ForeignKey("image.id", ondelete="CASCADE"), primary_key=True
    )
    aperture: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    zero_point: Mapped[float] = mapped_column(Float8)
    zero_point_err: Mapped[float] = mapped_column(Float8)
    colour_term: Mapped[float | None] = mapped_column(Float8)
    colour_term_err: Mapped[float | None] = mapped_column(Float8)
    colour_ref: Mapped[float | None] = mapped_column(Float8)
    covariance: Mapped[float] = mapped_column(Float8)
    rms: Mapped[float] = mapped_column(Float8)
    n_stars: Mapped[int] = mapped_column(Integer)
    n_clipped: Mapped[int] = mapped_column(Integer)
    mag_min: Mapped[float] = mapped_column(Float8)
    mag_max: Mapped[float] = mapped_column(Float8)
    colour_min: Mapped[float | None] = mapped_column(Float8)
    colour_max: Mapped[float | None] = mapped_column(Float8)

    __table_args__ = (CheckConstraint("aperture >= 0", name="image_solution_aperture"),)


class ObjectVariability(Base):
    """An object's variability statistics in one filter (migration 0020), from its calibrated
    ApAuto magnitudes: the running ``state`` and what :mod:`aphos_lib.variability` derives
    from it. ``filter`` is ``""`` for images whose header named none."""

    __tablename__ = "object_variability"

    object_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    filter: Mapped[str] = mapped_column(Text, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    mean_mag: Mapped[float | None] = mapped_column(Float8)
    std_mag: Mapped[float | None] = mapped_column(Float8)
    err_rms: Mapped[float | None] = mapped_column(Float8)
    chi2_dof: Mapped[float | None] = mapped_column(Float8)
    robust_std: Mapped[float | None] = mapped_column(Float8)
    eta: Mapped[float | None] = mapped_column(Float8)
    stetson_j: Mapped[float | None] = mapped_column(Float8)
    amplitude: Mapped[float | None] = mapped_column(Float8)
    first_jd: Mapped[float | None] = mapped_column(Float8)
    last_jd: Mapped[float | None] = mapped_column(Float8)
    state: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = {"postgresql_with": {"fillfactor": "70"}}


class VariabilityPending(Base):
    """An image's calibrated points waiting for the batch's fold (migration 0020)."""

    __tablename__ = "variability_pending"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    filter: Mapped[str] = mapped_column(Text)
    jd: Mapped[float] = mapped_column(Float8)
    object_ids: Mapped[bytes] = mapped_column(LargeBinary)
    magnitudes: Mapped[bytes] = mapped_column(LargeBinary)
    errors: Mapped[bytes] = mapped_column(LargeBinary)


class ResolvedName(Base):
    """A star name's position as CDS Sesame gave it (migration 0018; written by the writer).

    ``name_key`` is the name in lower case with its whitespace collapsed
    (:func:`aphos_lib.name_resolution.name_key`); ``source`` the database that answered.
    """

    __tablename__ = "resolved_name"

    name_key: Mapped[str] = mapped_column(Text, primary_key=True)
    ra_deg: Mapped[float] = mapped_column(Float8)
    dec_deg: Mapped[float] = mapped_column(Float8)
    source: Mapped[str] = mapped_column(Text)
    resolved_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        CheckConstraint("ra_deg >= 0 AND ra_deg < 360", name="resolved_name_ra_range"),
        CheckConstraint("dec_deg BETWEEN -90 AND 90", name="resolved_name_dec_range"),
        CheckConstraint("name_key <> ''", name="resolved_name_key_not_empty"),
    )


__all__ = [
    "Base",
    "CatalogObjectRow",
    "Flux",
    "Image",
    "ImageSolution",
    "LightCurveChunk",
    "LightCurveSealPending",
    "ObjectVariability",
    "ObserverRow",
    "ResolvedName",
    "StarRow",
    "Upload",
    "UploadFile",
    "VariabilityPending",
]
