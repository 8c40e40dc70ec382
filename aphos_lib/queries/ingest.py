"""Storing a SIPS file: the statements of one file's transaction and of the batch's fold.

A file's transaction inserts its :func:`image` (nothing when the observer sent the exposure
before), loads its fluxes with :func:`copy_fluxes`, leaves its objects' numbers of fluxes in
:func:`pend_counts` and records its outcome with :func:`record_file`; the batch's
:func:`fold_lock` and :func:`fold_counts` then add the pending counts to ``catalog_object``.
:data:`STORED_IDENTITY` is :func:`aphos_lib.db.exposure_identity.exposure_identity` computed
in SQL from an image's stored rows (:func:`stored_identities`).

The statements are the ingest's hot path (``bench/ingest.py``): each is one plain string,
built once, and the functions only pair it with its parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from aphos_lib.queries.query import Query

__all__ = [
    "FOLD_LOCK",
    "STORED_IDENTITY",
    "copy_fluxes",
    "fold_counts",
    "fold_lock",
    "image",
    "pend_counts",
    "record_file",
    "seal_chunks",
    "stored_identities",
]

_IMAGE = """
        INSERT INTO image (observer_id, upload_id, sha256, identity, filename, encoding,
            exposure_begin, exposure_end, exposure_mid, exposure_time_s, jd_begin, jd_end, jd_mid,
            hjd, filter, center_ra_deg, center_dec_deg, header, columns, apertures, flux_count,
            matched_count)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
            %s, %s)
        ON CONFLICT (observer_id, identity) DO NOTHING
        RETURNING id
        """


def image(
    *,
    observer_id: int,
    upload_id: int | None,
    sha256: bytes,
    identity: bytes,
    filename: str,
    encoding: str,
    exposure_begin: datetime,
    exposure_end: datetime,
    exposure_mid: datetime,
    exposure_time_s: float,
    jd_begin: float | None,
    jd_end: float | None,
    jd_mid: float | None,
    hjd: float | None,
    filter_name: str | None,
    center_ra_deg: float | None,
    center_dec_deg: float | None,
    header_json: str,
    columns: Sequence[str],
    apertures: int,
    flux_count: int,
    matched_count: int,
) -> Query:
    """Insert an image; its id, or no row when the observer already has this exposure
    (``identity``).

    The conflict waits for a transaction inserting the same exposure and is then no row, or
    inserts if that one rolled back.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> t = datetime(2021, 11, 6, 16, 27, 45, tzinfo=UTC)
    >>> q = image(observer_id=3, upload_id=None, sha256=b"s", identity=b"i", filename="a.csv",
    ...     encoding="utf-8", exposure_begin=t, exposure_end=t, exposure_mid=t,
    ...     exposure_time_s=90.0, jd_begin=None, jd_end=None, jd_mid=None, hjd=None,
    ...     filter_name="R", center_ra_deg=None, center_dec_deg=None, header_json="[]",
    ...     columns=["RA"], apertures=0, flux_count=1, matched_count=0)
    >>> "ON CONFLICT (observer_id, identity) DO NOTHING" in q.text()
    True
    >>> q.params[:4]
    (3, None, b's', b'i')
    """
    params = (
        observer_id,
        upload_id,
        sha256,
        identity,
        filename,
        encoding,
        exposure_begin,
        exposure_end,
        exposure_mid,
        exposure_time_s,
        jd_begin,
        jd_end,
        jd_mid,
        hjd,
        filter_name,
        center_ra_deg,
        center_dec_deg,
        header_json,
        columns,
        apertures,
        flux_count,
        matched_count,
    )
    return Query(_IMAGE, params)


def copy_fluxes(columns: Sequence[str]) -> Query:
    """The binary COPY of flux rows into these columns, in this order (the order of the
    fields in the stream); run with :meth:`~aphos_lib.queries.query.Query.copy`.

    Examples
    --------
    >>> copy_fluxes(["image_id", "line"]).text()
    'COPY flux (image_id, line) FROM STDIN (FORMAT binary)'
    """
    return Query(f"COPY flux ({', '.join(columns)}) FROM STDIN (FORMAT binary)")


# A file's transaction appends one row to flux_count_pending: its objects, their numbers of
# fluxes, and the names it gives stars; the batch's fold adds the counts to their stars and
# names the stars still unnamed, once per star (migration 0007). Rewriting ~2,000 catalogue
# rows in every file's transaction cost a third of the ingest.
_PEND_COUNTS = """
    INSERT INTO flux_count_pending (object_ids, counts, named_ids, names)
    VALUES (string_to_array(%s, ',')::bigint[], string_to_array(%s, ',')::int[], %s, %s)
"""


def pend_counts(
    object_ids: str, counts: str, named_ids: Sequence[int], names: Sequence[str]
) -> Query:
    """Leave a file's numbers of fluxes per object, and the names it gives stars, for the
    fold.

    ``object_ids`` and ``counts`` are comma-separated text (one parameter each, however many
    objects), ``named_ids`` and ``names`` lists of one length.

    Examples
    --------
    >>> pend_counts("7,9", "2,1", [7], ["RR Lyr"]).params
    ('7,9', '2,1', [7], ['RR Lyr'])
    """
    return Query(_PEND_COUNTS, (object_ids, counts, named_ids, names))


#: The key of the advisory lock every fold takes: any constant, shared by every fold.
FOLD_LOCK = 7_046_117_200


def fold_lock() -> Query:
    """Wait until no other fold runs, for the rest of the transaction.

    Examples
    --------
    >>> fold_lock().params == (FOLD_LOCK,)
    True
    """
    return Query("SELECT pg_advisory_xact_lock(%s)", (FOLD_LOCK,))


# The fold is the only statement that changes existing catalogue rows, and folds never run two
# at once (fold_lock): one fold takes every pending row committed before it, and none twice.
# It is a function (migrations 0016 and 0017) that adds them to the stars (and to the objects
# only of stars with several members), its counts and names read from maps, so that no
# statistics can make it join the objects to the names once per object.
_FOLD_COUNTS = "SELECT fold_pending_flux_counts()"


def fold_counts() -> Query:
    """Add every pending count to its object's star and name the unnamed stars named since; run
    after :func:`fold_lock`, in its transaction. Its rows are the ids of the objects changed.

    Examples
    --------
    >>> fold_counts().text()
    'SELECT fold_pending_flux_counts()'
    """
    return Query(_FOLD_COUNTS)


def seal_chunks(object_ids: Sequence[int] | None, min_rows: int) -> Query:
    """Seal the light-curve records of these objects (None: every object) that have at least
    ``min_rows`` measurements after their last chunk into a new chunk; its value is how many
    were sealed (0 while another session is storing images: see migration 0015). Run after
    :func:`fold_lock`, in its transaction, so that two seals never write one object's chunk.

    Examples
    --------
    >>> seal_chunks([3, 5], 256).params
    ([3, 5], 256)
    """
    ids = None if object_ids is None else [int(i) for i in object_ids]
    return Query("SELECT seal_light_curve_chunks(%s::int8[], %s)", (ids, int(min_rows)))


_RECORD_FILE = """
        INSERT INTO upload_file (upload_id, position, filename, sha256, status, image_id, fluxes,
            matched, unmatched, rejected_rows, rejected_count, warnings, warning_count, error,
            new_sources)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        """


def record_file(
    *,
    upload_id: int,
    position: int,
    filename: str,
    sha256: bytes | None,
    status: str,
    image_id: int | None,
    fluxes: int,
    matched: int,
    unmatched: int,
    rejected_rows_json: str,
    rejected_count: int,
    warnings_json: str,
    warning_count: int,
    error: str | None,
    new_sources: int,
) -> Query:
    """Record what became of an upload's file (its ``upload_file`` row).

    Examples
    --------
    >>> q = record_file(upload_id=9, position=0, filename="a.csv", sha256=None,
    ...     status="rejected", image_id=None, fluxes=0, matched=0, unmatched=0,
    ...     rejected_rows_json="[]", rejected_count=0, warnings_json="[]", warning_count=0,
    ...     error="a.csv: no table header row was found", new_sources=0)
    >>> q.params[:5]
    (9, 0, 'a.csv', None, 'rejected')
    """
    params = (
        upload_id,
        position,
        filename,
        sha256,
        status,
        image_id,
        fluxes,
        matched,
        unmatched,
        rejected_rows_json,
        rejected_count,
        warnings_json,
        warning_count,
        error,
        new_sources,
    )
    return Query(_RECORD_FILE, params)


# The identity of a stored image, as exposure_identity computes it from the rows read: the
# same values in their binary form, in the same order (aphos_lib.db.exposure_identity).
# Text values are the flux's name and its object's catalogue and id (``o``); floats the flux's.
IDENTITY_TEXT_COLUMNS = ("name", "catalog", "catalog_id")
IDENTITY_FLOAT_COLUMNS = (
    "x",
    "y",
    "adu",
    "ra_deg",
    "dec_deg",
    "background",
    "background_dev",
    "ap_auto",
    "ap_auto_dev",
)


def _text_sql(expression: str) -> str:
    utf8 = f"convert_to({expression}, 'UTF8')"
    return (
        f"coalesce(string_agg(int4send(coalesce(octet_length({utf8}), -1)), '' "
        f"ORDER BY f.line), '') || coalesce(string_agg({utf8}, '' ORDER BY f.line), '')"
    )


def _float_sql(expression: str) -> str:
    return (
        f"coalesce(string_agg(float8send(coalesce({expression}, 'NaN')), '' ORDER BY f.line), '')"
    )


def _aperture_sql(expression: str) -> str:
    """An array column's elements, aperture by aperture (all rows' Ap1, then Ap2, ...)."""
    return (
        f"coalesce((SELECT string_agg(v, '' ORDER BY k) FROM (SELECT k, string_agg("
        f"{expression}, '' ORDER BY f.line) AS v FROM flux f, "
        f"generate_series(1, i.apertures) AS k WHERE f.image_id = i.id GROUP BY k) AS a), '')"
    )


#: The identity of a stored image ``i`` computed from its stored rows: what
#: :func:`~aphos_lib.db.exposure_identity.exposure_identity` gives for the file it was read
#: from, when every row read was stored (as before migration 0011, which keeps its own copy).
STORED_IDENTITY = (
    "sha256(int8send((extract(epoch FROM i.exposure_begin) * 1000000)::int8)"
    " || int8send((extract(epoch FROM i.exposure_end) * 1000000)::int8)"
    " || int4send(i.apertures) || int8send((SELECT count(*) FROM flux f WHERE f.image_id = i.id))"
    " || coalesce(int4send(octet_length(convert_to(i.filter, 'UTF8')))"
    " || convert_to(i.filter, 'UTF8'), int4send(-1))"
    " || (SELECT "
    + " || ".join(
        [_text_sql(f"{'f' if c == 'name' else 'o'}.{c}") for c in IDENTITY_TEXT_COLUMNS]
        + [_float_sql(f"f.{c}") for c in IDENTITY_FLOAT_COLUMNS]
        + ["coalesce(string_agg(boolsend(f.ap_auto_saturated), '' ORDER BY f.line), '')"]
    )
    # A row SIPS matched to nothing belongs to an APhoS source: no catalogue, as in the file.
    + " FROM flux f LEFT JOIN catalog_object o ON o.id = f.object_id AND o.catalog <> 'APHOS'"
    " WHERE f.image_id = i.id)"
    " || "
    + _aperture_sql("float8send(coalesce(f.ap[k], 'NaN'))")
    + " || "
    + _aperture_sql("float8send(coalesce(f.ap_dev[k], 'NaN'))")
    + " || "
    + _aperture_sql("boolsend(f.ap_saturated[k])")
    + ")"
)


def stored_identities(image_ids: Iterable[int]) -> Query:
    """``(image id, identity computed from its stored rows)`` of these images, in id order.

    Examples
    --------
    >>> q = stored_identities([4, 2])
    >>> q.params
    ([4, 2],)
    >>> STORED_IDENTITY in q.text()
    True
    """
    return Query(
        f"SELECT i.id, {STORED_IDENTITY} FROM image i WHERE i.id = ANY(%s) ORDER BY i.id",
        ([int(i) for i in image_ids],),
    )
