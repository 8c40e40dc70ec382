"""Storing SIPS files in the catalogue: one transaction per file, rows loaded with COPY.

What a file becomes
-------------------
- an ``image`` row keyed by the SHA-256 of the file's bytes per observer: sending the same file
  again stores nothing and reports ``duplicate``;
- ``catalog_object`` rows for the catalogue stars it matched, upserted in bulk and keyed by
  (catalogue, catalogue id); rows SIPS matched to no star are kept with no object;
- one ``flux`` row per table row, loaded with a binary COPY;
- an ``upload_file`` row with the outcome, when the file is part of an upload;
- a ``flux_count_pending`` row: its objects' numbers of fluxes and the names it gives stars,
  which :func:`fold_flux_counts` adds to ``catalog_object`` once per batch of files (and every
  :data:`FOLD_EVERY` files), so a search reads counts instead of counting.

All of it commits together or not at all, so a process killed in the middle of a file leaves
nothing of that file. Objects are inserted in (catalogue, id) order, so parallel ingests that
share new stars wait for each other instead of deadlocking, and each star is created once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc

from aphos_lib.db import binary_copy as bc
from aphos_lib.db.catalogue import Catalogue
from aphos_lib.io.sips import RejectedRow, SipsFile, SipsFormatError, read_sips
from aphos_lib.observers import ensure_local_observer

__all__ = ["FOLD_EVERY", "FileOutcome", "ObjectCache", "fold_flux_counts", "ingest_file",
           "ingest_files", "ingest_parsed", "start_upload"]  # fmt: skip

FLUX_COLUMNS = (
    "image_id", "line", "object_id", "name", "x", "y", "adu", "ra_deg", "dec_deg",
    "background", "background_dev", "ap_auto", "ap_auto_dev", "ap_auto_saturated",
    "ap", "ap_dev", "ap_saturated",
)  # fmt: skip
# What makes a whole file unreadable: it is then rejected with the message, and nothing stored.
_UNREADABLE = (SipsFormatError, UnicodeDecodeError, OSError)
_COPY_FLUX = f"COPY flux ({', '.join(FLUX_COLUMNS)}) FROM STDIN (FORMAT binary)"


@dataclass
class FileOutcome:
    """What happened to one file.

    ``status`` is ``stored``, ``duplicate`` or ``rejected``; ``fluxes`` counts the rows stored
    (``matched`` to a catalogue star plus ``unmatched``); ``rejected_rows`` lists the rows that
    were not stored with their line number and reason; ``error`` says why a whole file was
    rejected.
    """

    file: str
    status: str
    fluxes: int = 0
    matched: int = 0
    unmatched: int = 0
    rejected_rows: list[RejectedRow] = field(default_factory=list)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    image_id: int | None = None

    @property
    def ok(self) -> bool:
        """True when the file is in the catalogue (stored now or before)."""
        return self.status in ("stored", "duplicate")

    def to_json(self) -> dict[str, Any]:
        """The outcome as the CLI prints it with ``--json``."""
        return {
            "file": self.file,
            "status": self.status,
            "fluxes": self.fluxes,
            "matched": self.matched,
            "unmatched": self.unmatched,
            "rejected_rows": [{"line": r.line, "reason": r.reason} for r in self.rejected_rows],
            "error": self.error,
        }


def start_upload(conn: psycopg.Connection, observer_id: int, client: str = "cli") -> int:
    """Create an upload (committed) and return its id."""
    with conn.transaction():
        return conn.execute(
            "INSERT INTO upload (observer_id, client) VALUES (%s, %s) RETURNING id",
            (observer_id, client),
        ).fetchone()[0]


def finish_upload(conn: psycopg.Connection, upload_id: int, outcomes: list[FileOutcome]) -> None:
    """Mark an upload done: ``stored`` when every file is in, else ``partial`` or ``failed``."""
    ok = sum(o.ok for o in outcomes)
    state = "stored" if ok == len(outcomes) else ("partial" if ok else "failed")
    with conn.transaction():
        conn.execute(
            "UPDATE upload SET state = %s, finished_at = now() WHERE id = %s", (state, upload_id)
        )


def ingest_file(
    conn: psycopg.Connection,
    source: str | Path | bytes,
    *,
    observer_id: int,
    upload_id: int | None = None,
    position: int = 0,
    name: str | None = None,
    fold: bool = True,
) -> FileOutcome:
    """Read one SIPS file and store it in one transaction.

    Parameters
    ----------
    conn : psycopg.Connection
        A connection as the writer (or owner) role, not inside a transaction.
    source : str, Path or bytes
        The file, or its content.
    observer_id : int
        Who took the image.
    upload_id : int, optional
        The upload this file belongs to; its outcome is then recorded in ``upload_file``.
    position : int
        The file's place in that upload (0 for the first file).
    name : str, optional
        The file name to report (by default the path's name).
    fold : bool
        Add the file's flux counts to its objects before returning (the default); with
        False they wait for the caller's :func:`fold_flux_counts`.

    Returns
    -------
    FileOutcome
    """
    label = name or (Path(source).name if not isinstance(source, bytes) else "<bytes>")
    try:
        parsed = read_sips(source, name=label)
    except _UNREADABLE as exc:
        return _reject(conn, label, str(exc), upload_id, position)
    return ingest_parsed(
        conn, parsed, observer_id=observer_id, upload_id=upload_id, position=position, fold=fold
    )


def _reject(
    conn: psycopg.Connection, label: str, message: str, upload_id: int | None, position: int
) -> FileOutcome:
    outcome = FileOutcome(label, "rejected", error=message)
    if upload_id is not None:
        with conn.transaction():
            _record(conn, upload_id, position, outcome, None)
    return outcome


def ingest_parsed(
    conn: psycopg.Connection,
    sips: SipsFile,
    *,
    observer_id: int,
    upload_id: int | None = None,
    position: int = 0,
    known_objects: ObjectCache | None = None,
    fold: bool = True,
) -> FileOutcome:
    """Store an already-read file in one transaction (see :func:`ingest_file`).

    ``known_objects`` holds the object ids earlier files of the same batch looked up, so that
    a night of images of one field asks the database once per star. Ids are only added to it
    after the transaction that found them has committed. With ``fold=False`` the file's
    flux counts stay pending until the caller's :func:`fold_flux_counts` (once per batch).
    """
    pending = _prepare(conn, sips, observer_id, upload_id, position,
                       known_objects or ObjectCache(read_areas=False))  # fmt: skip
    outcome, found = _complete(pending)
    if known_objects is not None:
        known_objects.add(*found)  # committed: these ids exist for everyone now
    if fold and pending.payload is not None:
        fold_flux_counts(conn)
    return outcome


@dataclass
class _Pending:
    """A file whose transaction is open: image and objects written, fluxes encoded."""

    conn: psycopg.Connection
    outcome: FileOutcome
    sha: bytes
    upload_id: int | None
    position: int
    payload: bytes | None  # None for a duplicate
    found: tuple[pa.Array, np.ndarray]  # objects looked up in the database: keys, ids
    names: tuple[list[int], list[str]] = ([], [])  # object ids and the names the file gives
    counts: tuple[str, str] = ("", "")  # object ids and their numbers of rows in the file


def _prepare(
    conn: psycopg.Connection,
    sips: SipsFile,
    observer_id: int,
    upload_id: int | None,
    position: int,
    known: ObjectCache,
) -> _Pending:
    """First half of a file's transaction: the image row, the objects, the COPY payload."""
    rows = sips.rows
    matched_mask = pc.is_valid(rows["catalog_id"]).to_numpy(zero_copy_only=False)
    outcome = FileOutcome(
        sips.source,
        "stored",
        fluxes=rows.num_rows,
        matched=int(matched_mask.sum()),
        unmatched=int(rows.num_rows - matched_mask.sum()),
        rejected_rows=list(sips.rejected),
        warnings=list(sips.warnings),
    )
    sha = bytes.fromhex(sips.sha256)
    found = (pa.array([], pa.string()), np.empty(0, dtype=np.int64))
    try:
        image_id = _insert_image(conn, sips, observer_id, upload_id, sha, outcome)
        if image_id is None:
            duplicate = FileOutcome(sips.source, "duplicate", warnings=outcome.warnings)
            return _Pending(conn, duplicate, sha, upload_id, position, None, found)
        object_ids, found = _upsert_objects(conn, rows, matched_mask, known)
        outcome.image_id = image_id
        payload = _flux_payload(rows, image_id, object_ids, sips.apertures)
        names = _names_given(rows, object_ids)
        counts = _flux_counts(object_ids)
    except BaseException:
        conn.rollback()
        raise
    return _Pending(conn, outcome, sha, upload_id, position, payload, found, names, counts)


def _complete(pending: _Pending) -> tuple[FileOutcome, tuple[pa.Array, np.ndarray]]:
    """Second half: COPY the fluxes, record the outcome, commit (or roll back everything)."""
    conn = pending.conn
    try:
        if pending.payload is not None:
            with conn.cursor().copy(_COPY_FLUX) as copy:
                copy.write(pending.payload)
            _update_objects(conn, pending.counts, pending.names)
        if pending.upload_id is not None:
            _record(conn, pending.upload_id, pending.position, pending.outcome, pending.sha)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return pending.outcome, pending.found


def _insert_image(
    conn: psycopg.Connection,
    sips: SipsFile,
    observer_id: int,
    upload_id: int | None,
    sha: bytes,
    outcome: FileOutcome,
) -> int | None:
    """Insert the image row; None when this observer already sent this exact file."""
    header = []
    for h in sips.header:
        key, sep, value = h.raw.partition(";")
        header.append([key, value if sep else None])
    duration = (sips.exposure_end - sips.exposure_begin).total_seconds()
    row = conn.execute(
        """
        INSERT INTO image (observer_id, upload_id, sha256, filename, encoding, exposure_begin,
            exposure_end, exposure_mid, exposure_time_s, jd_begin, jd_end, jd_mid, hjd, filter,
            center_ra_deg, center_dec_deg, header, columns, apertures, flux_count, matched_count)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
            %s)
        ON CONFLICT (observer_id, sha256) DO NOTHING
        RETURNING id
        """,
        (
            observer_id, upload_id, sha, sips.source, sips.encoding, sips.exposure_begin,
            sips.exposure_end, sips.exposure_middle,
            sips.header_float("ExposureTime") or duration,
            sips.header_float("JDBegin"), sips.header_float("JDEnd"), sips.header_float("GJD"),
            sips.header_float("HJD"), sips.header_value("Filter") or None,
            sips.header_float("CenterRADeg"), sips.header_float("CenterDecDeg"),
            json.dumps(header), sips.columns, sips.apertures, outcome.fluxes, outcome.matched,
        ),
    ).fetchone()  # fmt: skip
    return None if row is None else row[0]


def _lines(values: list) -> str:
    """Values as one newline-separated string (None as empty), split again by the server.

    One text parameter instead of arrays: psycopg quotes array elements one by one in Python,
    which cost more than the whole COPY of the fluxes.
    """
    return "\n".join("" if v is None else str(v) for v in values)


# Ids come back as one comma-separated string in key order (-1: unknown): parsing it with
# numpy is much cheaper than building a Python row per star.
_FIND_OBJECTS = """
    SELECT string_agg(coalesce(o.id, -1)::text, ',' ORDER BY k.ord)
    FROM unnest(string_to_array(%s, E'\n'), string_to_array(%s, E'\n'))
         WITH ORDINALITY AS k(catalog, catalog_id, ord)
    LEFT JOIN catalog_object o USING (catalog, catalog_id)
"""
# The stars it inserted come back as keys and ids (those another ingest inserted meanwhile are
# skipped, and looked up once it has committed).
_INSERT_OBJECTS = """
    WITH inserted AS (
        INSERT INTO catalog_object (catalog, catalog_id, name, ra_deg, dec_deg, mag, bv, jk)
        SELECT c, i, nullif(n, ''), r::float8, d::float8, nullif(m, '')::float8,
               nullif(b, '')::float8, nullif(j, '')::float8
        FROM unnest(string_to_array(%s, E'\n'), string_to_array(%s, E'\n'),
                    string_to_array(%s, E'\n'), string_to_array(%s, E'\n'),
                    string_to_array(%s, E'\n'), string_to_array(%s, E'\n'),
                    string_to_array(%s, E'\n'), string_to_array(%s, E'\n'))
             AS t(c, i, n, r, d, m, b, j)
        ORDER BY c, i
        ON CONFLICT (catalog, catalog_id) DO NOTHING
        RETURNING catalog, catalog_id, id
    )
    SELECT string_agg(catalog || E'\t' || catalog_id, E'\n'), string_agg(id::text, ',')
    FROM inserted
"""


class ObjectCache:
    """Ids of catalogue stars already known in a batch of files, keyed by catalogue and id.

    Kept as arrays (keys as ``"catalogue<TAB>id"`` strings) so that a file's ~2,000 stars are
    found with one vectorised lookup. Only ids from committed transactions are added, and
    objects are never deleted, so a cached id stays valid for the batch.
    """

    def __init__(self, *, read_areas: bool = True) -> None:
        self.keys = pa.array([], pa.string())
        self.ids = np.empty(0, dtype=np.int64)
        # A batch reads the catalogue by sky area (see _AREA_READ_MIN_STARS); a lone file
        # has no later image to profit from it.
        self.read_areas = read_areas
        self.boxes: list[tuple[float, float, float, float]] = []  # sky areas already read

    def find(self, keys: pa.Array) -> np.ndarray:
        """Each key's object id, -1 where unknown."""
        if not len(self.keys):
            return np.full(len(keys), -1, dtype=np.int64)
        at = pc.fill_null(pc.index_in(keys, value_set=self.keys), -1).to_numpy()
        return np.where(at >= 0, self.ids[at], -1)

    def add(self, keys: pa.Array, ids: np.ndarray) -> None:
        """Remember ids (call only after the transaction that found them has committed)."""
        if len(keys):
            self.keys = pa.concat_arrays([self.keys, keys])
            self.ids = np.concatenate([self.ids, ids])

    def holds_area(self, box: tuple[float, float, float, float]) -> bool:
        """Whether an area read before covers ``box`` (west, south, east, north)."""
        return any(b[0] <= box[0] and b[1] <= box[1] and b[2] >= box[2] and b[3] >= box[3]
                   for b in self.boxes)  # fmt: skip


# A file with at least this many stars the batch has not met reads every catalogue star of its
# sky area at once (one index range of the position index) instead of asking for its stars by
# id: the batch's later images of the field then find theirs in the cache, though each image
# measures another subset of the field's stars.
_AREA_READ_MIN_STARS = 100
_AREA_MARGIN_DEG = 0.05  # catalogue positions a little outside the measured ones
# Wider on the sky (or across RA 0/360): ask by id, as before. SIPS fields reach 5 x 7 deg
# (the published export's).
_AREA_MAX_SIDE_DEG = 10.0
_OBJECTS_IN_AREA = """
    SELECT string_agg(catalog || E'\t' || catalog_id, E'\n'), string_agg(id::text, ',')
    FROM catalog_object
    WHERE point(ra_deg, dec_deg) <@ box(point(%s, %s), point(%s, %s))
"""


def _sky_area(rows: pa.Table, matched_at: np.ndarray) -> tuple[float, float, float, float] | None:
    """The (west, south, east, north) box of the matched rows' measured positions, with a
    margin; None when it is too wide to be one image's field or crosses RA 0/360."""
    ra = rows["ra_deg"].to_numpy()[matched_at]
    dec = rows["dec_deg"].to_numpy()[matched_at]
    west, east = float(np.nanmin(ra)), float(np.nanmax(ra))
    south, north = float(np.nanmin(dec)), float(np.nanmax(dec))
    widest = math.cos(math.radians(min(abs(south), abs(north)))) if south * north > 0 else 1.0
    if (east - west > 180 or (east - west) * widest > _AREA_MAX_SIDE_DEG
            or north - south > _AREA_MAX_SIDE_DEG):  # fmt: skip
        return None
    m = _AREA_MARGIN_DEG
    return west - m, south - m, east + m, north + m


def _read_area(conn: psycopg.Connection, known: ObjectCache,
               box: tuple[float, float, float, float]) -> None:  # fmt: skip
    """Cache every catalogue star in ``box``. Only committed stars are read: the file's
    transaction has inserted none yet."""
    keys, ids = _keys_and_ids(*conn.execute(_OBJECTS_IN_AREA, box).fetchone())
    known.boxes.append(box)
    new = known.find(keys) < 0
    known.add(keys.filter(pa.array(new)), ids[new])


def _keys_and_ids(keys_text: str | None, ids_text: str | None) -> tuple[pa.Array, np.ndarray]:
    """Stars sent back as two aggregates: ``catalogue<TAB>id`` keys one per line, and their
    object ids comma-separated in the same order (both NULL for none)."""
    if not keys_text:
        return pa.array([], pa.string()), np.empty(0, dtype=np.int64)
    return pa.array(keys_text.split("\n")), np.array(ids_text.split(","), dtype=np.int64)


def _upsert_objects(
    conn: psycopg.Connection,
    rows: pa.Table,
    matched_mask: np.ndarray,
    known: ObjectCache,
) -> tuple[np.ndarray, tuple[pa.Array, np.ndarray]]:
    """Insert the file's new catalogue stars; return each row's object id (-1 if none).

    Also returns the (keys, ids) this file looked up in the database, for the batch's
    :class:`ObjectCache` once the file has committed. Most stars of a file are already known,
    so the ids are looked up first (unless the cache holds the file's whole sky area) and only
    the missing stars are inserted, in (catalogue, id) order so that concurrent ingests
    sharing new stars wait for each other instead of deadlocking. The INSERT returns the new
    stars' ids; a star another ingest inserted meanwhile is looked up after it.
    """
    object_ids = np.full(rows.num_rows, -1, dtype=np.int64)
    if not matched_mask.any():
        return object_ids, (pa.array([], pa.string()), np.empty(0, dtype=np.int64))
    # Only the key columns of the matched rows: filtering the whole table cost more than the
    # rest of the lookup. The few new stars take their other columns from ``rows``.
    matched_at = np.flatnonzero(matched_mask)
    matched = rows.select(["catalog", "catalog_id"]).filter(pa.array(matched_mask))
    keys = pc.binary_join_element_wise(matched["catalog"], matched["catalog_id"], "\t")
    encoded = keys.combine_chunks().dictionary_encode()
    per_row = encoded.indices.to_numpy(zero_copy_only=False)
    star_ids = known.find(encoded.dictionary)
    unknown = np.flatnonzero(star_ids < 0)
    # Whether the cache holds every stored star of the file's area: its unknown stars are
    # then new, and go straight to the INSERT.
    area_known = False
    if known.read_areas and len(unknown) >= _AREA_READ_MIN_STARS:
        area = _sky_area(rows, matched_at)
        if area is not None:
            if not known.holds_area(area):
                _read_area(conn, known, area)
                star_ids = known.find(encoded.dictionary)
                unknown = np.flatnonzero(star_ids < 0)
            area_known = True
    if len(unknown):
        first_row = np.unique(per_row, return_index=True)[1]  # first row of each star
        new_rows = pa.array(first_row[unknown])
        catalogs = matched["catalog"].take(new_rows).to_pylist()
        catalog_ids = matched["catalog_id"].take(new_rows).to_pylist()
        ids = np.full(len(unknown), -1, dtype=np.int64)

        def lookup(which: np.ndarray) -> None:
            (found,) = conn.execute(
                _FIND_OBJECTS,
                (_lines([catalogs[k] for k in which]), _lines([catalog_ids[k] for k in which])),
            ).fetchone()
            ids[which] = np.array(found.split(","), dtype=np.int64)

        if not area_known:
            lookup(np.arange(len(unknown)))
        missing = np.flatnonzero(ids < 0)
        if len(missing):
            new = rows.select(
                ["name", "catalog_ra_deg", "catalog_dec_deg", "ra_deg", "dec_deg", "catalog_mag",
                 "catalog_bv", "catalog_jk"]
            ).take(pa.array(matched_at[first_row[unknown][missing]])).to_pydict()  # fmt: skip
            # A star's position is the catalogue's; the measured one when SIPS gave none.
            ra = _first_present(new["catalog_ra_deg"], new["ra_deg"])
            dec = _first_present(new["catalog_dec_deg"], new["dec_deg"])
            inserted_keys, inserted_ids = _keys_and_ids(*conn.execute(
                _INSERT_OBJECTS,
                (
                    _lines([catalogs[k] for k in missing]),
                    _lines([catalog_ids[k] for k in missing]),
                    _lines(new["name"]), _lines(map(repr, ra)), _lines(map(repr, dec)),
                    _lines(_reprs(new["catalog_mag"])), _lines(_reprs(new["catalog_bv"])),
                    _lines(_reprs(new["catalog_jk"])),
                ),
            ).fetchone())  # fmt: skip
            at = pc.index_in(inserted_keys,
                             value_set=encoded.dictionary.take(pa.array(unknown[missing])))
            ids[missing[at.to_numpy(zero_copy_only=False)]] = inserted_ids
            skipped = missing[ids[missing] < 0]  # inserted by another ingest meanwhile
            if len(skipped):
                lookup(skipped)
        star_ids[unknown] = ids
    object_ids[matched_mask] = star_ids[per_row]
    return object_ids, (encoded.dictionary.take(pa.array(unknown)), star_ids[unknown])


def _first_present(preferred: list, fallback: list) -> list:
    return [p if p is not None else f for p, f in zip(preferred, fallback, strict=True)]


def _reprs(values: list[float | None]) -> list[str | None]:
    """Floats as text that reads back to the same float8 (repr is exact)."""
    return [None if v is None else repr(v) for v in values]


def _names_given(rows: pa.Table, object_ids: np.ndarray) -> tuple[list[int], list[str]]:
    """The (object id, name) pairs of the file's named rows, for :func:`_update_objects`."""
    named = np.flatnonzero(
        pc.is_valid(rows["name"]).to_numpy(zero_copy_only=False) & (object_ids >= 0)
    )
    if not len(named):
        return [], []
    return [int(i) for i in object_ids[named]], rows["name"].take(pa.array(named)).to_pylist()


# A file's transaction appends one row to flux_count_pending: its objects, their numbers of
# fluxes, and the names it gives stars; the batch's fold adds the counts to catalog_object and
# names the stars still unnamed, once per star (migration 0007). Rewriting ~2,000 catalogue
# rows in every file's transaction cost a third of the ingest.
_PEND_COUNTS = """
    INSERT INTO flux_count_pending (object_ids, counts, named_ids, names)
    VALUES (string_to_array(%s, ',')::bigint[], string_to_array(%s, ',')::int[], %s, %s)
"""
# The fold is the only statement that changes existing catalogue rows, and folds never run two
# at once (a transaction-level advisory lock): no ordering of row locks is needed, and one
# fold's DELETE takes every pending row committed before it, and none twice. A star named by
# several files takes the name of the earliest (the lowest pending id).
_FOLD_LOCK = 7_046_117_200  # any constant, shared by every fold
_FOLD_COUNTS = """
    WITH moved AS (DELETE FROM flux_count_pending RETURNING *),
         sums AS (SELECT u.id, sum(u.n) AS n
                  FROM moved, unnest(moved.object_ids, moved.counts) AS u(id, n)
                  GROUP BY u.id),
         named AS (SELECT DISTINCT ON (u.id) u.id, u.name
                   FROM moved, unnest(moved.named_ids, moved.names) AS u(id, name)
                   ORDER BY u.id, moved.id)
    UPDATE catalog_object o
    SET flux_count = o.flux_count + sums.n, name = coalesce(o.name, named.name)
    FROM sums LEFT JOIN named USING (id)
    WHERE o.id = sums.id
"""
# A batch folds at least this often, so that the counts a search shows lag a long upload by
# at most this many files.
FOLD_EVERY = 25


def fold_flux_counts(conn: psycopg.Connection) -> int:
    """Add the flux counts of the files stored since the last fold to their objects, and
    name the stars they named that had no name yet.

    Every ingest calls this when its batch of files is stored (and every :data:`FOLD_EVERY`
    files); counts a killed ingest left pending are folded by the next one. It runs in a
    transaction of its own, after the files' transactions have committed.

    Parameters
    ----------
    conn : psycopg.Connection
        A connection as the writer role, not inside a transaction.

    Returns
    -------
    int
        How many objects' counts changed.
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_FOLD_LOCK,))
        return conn.execute(_FOLD_COUNTS).rowcount


def _flux_counts(object_ids: np.ndarray) -> tuple[str, str]:
    """The file's objects and how many of its rows each has, as comma-separated text."""
    ids, counts = np.unique(object_ids[object_ids >= 0], return_counts=True)
    return ",".join(map(str, ids.tolist())), ",".join(map(str, counts.tolist()))


def _update_objects(conn: psycopg.Connection, counts: tuple[str, str],
                    names: tuple[list, list]) -> None:  # fmt: skip
    """With the COPY: leave the image's flux counts and star names for the batch's fold.

    A search then reads each object's number of fluxes instead of counting them. A star first
    seen without a name gets the one a file gives it.
    """
    if counts[0]:
        conn.execute(_PEND_COUNTS, (*counts, *names))


def _flux_payload(rows: pa.Table, image_id: int, object_ids: np.ndarray, apertures: int) -> bytes:
    """The binary COPY stream of the file's flux rows."""
    n = rows.num_rows

    def floats(name: str) -> np.ndarray:
        return rows[name].to_numpy()  # nulls come out as NaN for float64

    def flags(name: str) -> np.ndarray:
        return rows[name].to_numpy()

    names = rows["name"].to_pylist()
    return bc.encode([
        bc.int8(np.full(n, image_id, dtype=np.int64)),
        bc.int4(rows["line"].to_numpy()),
        bc.int8(object_ids, null=object_ids < 0),
        bc.text(names) if any(v is not None for v in names) else bc.text([None] * n),
        bc.float8(floats("x")), bc.float8(floats("y")), bc.float8(floats("adu")),
        bc.float8(floats("ra_deg")), bc.float8(floats("dec_deg")),
        bc.float8(floats("background")), bc.float8(floats("background_dev")),
        bc.float8(floats("ap_auto")), bc.float8(floats("ap_auto_dev")),
        bc.boolean(flags("ap_auto_saturated")),
        bc.float8_array([floats(f"ap{k}") for k in range(1, apertures + 1)], n),
        bc.float8_array([floats(f"ap{k}_dev") for k in range(1, apertures + 1)], n),
        bc.bool_array([flags(f"ap{k}_saturated") for k in range(1, apertures + 1)], n),
    ])  # fmt: skip


def _record(
    conn: psycopg.Connection,
    upload_id: int,
    position: int,
    outcome: FileOutcome,
    sha: bytes | None,
) -> None:
    conn.execute(
        """
        INSERT INTO upload_file (upload_id, position, filename, sha256, status, image_id, fluxes,
            matched, unmatched, rejected_rows, warnings, error)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        """,
        (
            upload_id, position, outcome.file, sha, outcome.status, outcome.image_id,
            outcome.fluxes, outcome.matched, outcome.unmatched,
            json.dumps(outcome.to_json()["rejected_rows"]), json.dumps(outcome.warnings),
            outcome.error,
        ),
    )  # fmt: skip


def _read_one(path: Path) -> SipsFile | Exception:
    try:
        return read_sips(path)
    except _UNREADABLE as exc:
        return exc


def ingest_files(
    catalogue: Catalogue,
    paths: Iterable[str | Path],
    *,
    observer: str,
    client: str = "cli",
) -> list[FileOutcome]:
    """Store many files for one observer as one upload, each file in its own transaction.

    The local observer ``observer`` is created when it does not exist. The calling thread
    reads a file, writes its image and objects and encodes its fluxes while a database thread
    COPYs and commits the file before; files alternate between two connections so that the
    two never wait for each other, and each file is still exactly one transaction. (Reading
    the next file in a third thread was measured slower: on two cores it only fights for the
    interpreter lock.)

    Returns
    -------
    list of FileOutcome
        One per path, in order.
    """
    paths = [Path(p) for p in paths]
    outcomes: list[FileOutcome | None] = [None] * len(paths)
    known_objects = ObjectCache()
    with (
        catalogue.connect("writer") as first,
        catalogue.connect("writer") as second,
        ThreadPoolExecutor(max_workers=1) as database,
    ):
        with first.transaction():
            observer_id = ensure_local_observer(first, observer)
        upload_id = start_upload(first, observer_id, client)
        conns = (first, second)
        in_flight: dict[int, tuple[int, Future]] = {}  # connection -> (file index, completion)

        def settle(slot: int) -> None:
            if slot in in_flight:
                index, future = in_flight.pop(slot)
                outcome, found = future.result()
                known_objects.add(*found)  # committed: these ids exist for everyone now
                outcomes[index] = outcome

        for k, path in enumerate(paths):
            parsed = _read_one(path)
            slot = k % 2
            settle(slot)
            conn = conns[slot]
            if k and k % FOLD_EVERY == 0:
                fold_flux_counts(conn)  # the other connection's file may be in flight
            if isinstance(parsed, Exception):
                outcomes[k] = _reject(conn, path.name, str(parsed), upload_id, k)
                continue
            pending = _prepare(conn, parsed, observer_id, upload_id, k, known_objects)
            in_flight[slot] = (k, database.submit(_complete, pending))
        for slot in (0, 1):
            settle(slot)
        fold_flux_counts(first)
        finish_upload(first, upload_id, outcomes)
    return outcomes
