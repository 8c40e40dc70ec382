"""Which catalogue object each row of a SIPS file is: cached, read, looked up or new.

The ingest resolves a file's catalogue stars in two steps, so that the database's work of
inserting new stars is not on the path of the thread that reads and encodes the next file:

1. :func:`resolve_stars` (the reading thread, in the file's open transaction) finds every star
   of the file: in the batch's :class:`ObjectCache` (committed stars), among the stars that
   earlier files of the batch are still inserting (*borrowed*), in one read of the file's sky
   area or one lookup by id; the stars left are new, and get ids reserved from the object
   sequence. The flux rows can then be encoded with every object id.
2. :meth:`FileStars.store` (the database thread, in the same transaction, just before the
   COPY) inserts the new stars with their reserved ids, in (catalogue, id) order, so that
   concurrent ingests that share new stars wait for each other instead of deadlocking. A star
   another ingest stored first keeps that ingest's id: the file takes it over, as it does
   the final ids of the stars it borrowed, and says its rows must be encoded again.

Ids in the cache come only from committed transactions, and objects are never deleted, so a
cached id stays valid for the batch. The statements are in :mod:`aphos_lib.queries.objects`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc

from aphos_lib.queries import objects
from aphos_lib.sources import SourceCache

__all__ = ["FileStars", "NewStars", "ObjectCache", "resolve_stars"]

# Keys are "catalogue<TAB>id": one string per star, compared and looked up as one value.
_KEY_SEPARATOR = "\t"


def lines(values) -> str:
    """Values as one newline-separated string (None as empty), split again by the server.

    One text parameter instead of arrays: psycopg quotes array elements one by one in Python,
    which cost more than the whole COPY of the fluxes.
    """
    return "\n".join("" if v is None else str(v) for v in values)


def _ids_text(text: str | None) -> np.ndarray:
    """Ids sent back as one comma-separated aggregate (NULL: none)."""
    return np.array(text.split(","), dtype=np.int64) if text else np.empty(0, dtype=np.int64)


def _keys_and_ids(keys_text: str | None, ids_text: str | None) -> tuple[pa.Array, np.ndarray]:
    """Stars sent back as two aggregates: ``catalogue<TAB>id`` keys one per line, and their
    object ids comma-separated in the same order (both NULL for none)."""
    if not keys_text:
        return pa.array([], pa.string()), np.empty(0, dtype=np.int64)
    return pa.array(keys_text.split("\n")), _ids_text(ids_text)


# A file with at least this many stars the batch has not met reads every catalogue star of its
# sky area at once (one index range of the position index) instead of asking for its stars by
# id: the batch's later images of the field then find theirs in the cache, though each image
# measures another subset of the field's stars.
_AREA_READ_MIN_STARS = 100
_AREA_MARGIN_DEG = 0.05  # catalogue positions a little outside the measured ones
# Wider on the sky (or across RA 0/360): ask by id, as before. SIPS fields reach 5 x 7 deg
# (the published export's).
_AREA_MAX_SIDE_DEG = 10.0


@dataclass
class NewStars:
    """Stars one file inserts, with ids reserved for them, until its transaction ends.

    ``ids`` become the stored ones when another ingest stored a star first; ``state`` is
    ``pending`` until the file's transaction commits (``stored``) or fails (``failed``).
    """

    keys: pa.Array
    ids: np.ndarray
    values: tuple[str, ...]  # objects.insert_stars' other text parameters, from the key on
    state: str = "pending"


class ObjectCache:
    """Ids of catalogue stars already known in a batch of files, keyed by catalogue and id.

    Kept as arrays (keys as ``"catalogue<TAB>id"`` strings) so that a file's ~2,000 stars are
    found with one vectorised lookup. ``in_flight`` holds the new stars of files whose
    transactions are still open, which later files of the batch borrow.
    """

    def __init__(self, *, read_areas: bool = True) -> None:
        self.keys = pa.array([], pa.string())
        self.ids = np.empty(0, dtype=np.int64)
        # A batch reads the catalogue by sky area (see _AREA_READ_MIN_STARS); a lone file
        # has no later image to profit from it.
        self.read_areas = read_areas
        self.boxes: list[tuple[float, float, float, float]] = []  # sky areas already read
        self.in_flight: list[NewStars] = []
        self.sources = SourceCache()  # APhoS sources met (aphos_lib.sources)

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
        return any(
            b[0] <= box[0] and b[1] <= box[1] and b[2] >= box[2] and b[3] >= box[3]
            for b in self.boxes
        )

    def settle(self, stars: FileStars) -> None:
        """A file's transaction has ended: keep its ids if it committed, forget its new stars
        as in flight either way."""
        if stars.new is not None:
            self.in_flight = [s for s in self.in_flight if s is not stars.new]
        if stars.new is None or stars.new.state == "stored":
            self.add(*stars.found())


@dataclass
class FileStars:
    """A file's catalogue stars: one id per distinct star, and each matched row's star."""

    matched_mask: np.ndarray  # rows SIPS matched to a catalogue star
    keys: pa.Array  # the distinct stars, "catalogue<TAB>id"
    per_row: np.ndarray  # each matched row's index into keys
    ids: np.ndarray  # each star's object id
    looked_up: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    new: NewStars | None = None
    new_at: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    # (owner, indices into keys, indices into owner's ids) of the stars borrowed from files
    # still in flight
    borrowed: list[tuple[NewStars, np.ndarray, np.ndarray]] = field(default_factory=list)

    @property
    def object_ids(self) -> np.ndarray:
        """Each row's object id (-1 for a row SIPS matched to no star)."""
        out = np.full(len(self.matched_mask), -1, dtype=np.int64)
        out[self.matched_mask] = self.ids[self.per_row]
        return out

    def found(self) -> tuple[pa.Array, np.ndarray]:
        """The stars this file looked up or inserted, for the batch's cache once committed."""
        at = np.concatenate([self.looked_up, self.new_at])
        return self.keys.take(pa.array(at, pa.int64())), self.ids[at]

    def store(self, conn: psycopg.Connection) -> bool:
        """Insert the new stars (in the file's transaction); whether any id changed.

        A borrowed star takes the id its file finally stored it under; a new star another
        ingest stored first takes that ingest's id. Raises RuntimeError when a file this one
        borrowed stars from was not stored: the stars may not exist.
        """
        changed = False
        for owner, at, pos in self.borrowed:
            if owner.state != "stored":
                raise RuntimeError(
                    "a file before this one in the batch, whose new catalogue "
                    "stars this one shares, was not stored"
                )
            if (owner.ids[pos] != self.ids[at]).any():
                self.ids[at] = owner.ids[pos]
                changed = True
        new = self.new
        if new is not None:
            ids = ",".join(map(str, new.ids.tolist()))
            text = objects.insert_stars(ids, *new.values).value(conn)
            lost = np.flatnonzero(~np.isin(new.ids, _ids_text(text)))
            if len(lost):  # another ingest stored these stars first (and has committed)
                new.ids[lost] = _find(conn, new.keys.take(pa.array(lost)))
                self.ids[self.new_at[lost]] = new.ids[lost]
                changed = True
        return changed


def _find(conn: psycopg.Connection, keys: pa.Array) -> np.ndarray:
    """The stored object id of each key, -1 where there is none."""
    return _ids_text(objects.ids_of(lines(keys.to_pylist())).value(conn))


def _reserve(conn: psycopg.Connection, n: int) -> np.ndarray:
    """``n`` ids from the object sequence, which no other object will get."""
    return _ids_text(objects.reserve_ids(n).value(conn))


def resolve_stars(
    conn: psycopg.Connection, rows: pa.Table, matched_mask: np.ndarray, known: ObjectCache
) -> FileStars:
    """Find every catalogue star of a file and reserve ids for the new ones (see the module).

    The caller registers the new stars in ``known.in_flight`` once the file's rows are ready
    to send, inserts them with :meth:`FileStars.store` in the same transaction, and calls
    :meth:`ObjectCache.settle` when the transaction has ended.
    """
    if not matched_mask.any():
        empty = np.empty(0, dtype=np.int64)
        return FileStars(matched_mask, pa.array([], pa.string()), empty, empty)
    # Only the key columns of the matched rows: filtering the whole table cost more than the
    # rest of the lookup. The few new stars take their other columns from ``rows``.
    matched_at = np.flatnonzero(matched_mask)
    matched = rows.select(["catalog", "catalog_id"]).filter(pa.array(matched_mask))
    keys = pc.binary_join_element_wise(matched["catalog"], matched["catalog_id"], _KEY_SEPARATOR)
    encoded = keys.combine_chunks().dictionary_encode()
    per_row = encoded.indices.to_numpy(zero_copy_only=False)
    stars = FileStars(matched_mask, encoded.dictionary, per_row, known.find(encoded.dictionary))
    unknown = np.flatnonzero(stars.ids < 0)
    unknown = _borrow(stars, unknown, known)
    # Whether the cache holds every stored star of the file's area: its unknown stars are
    # then new, and go straight to the INSERT.
    area_known = False
    if known.read_areas and len(unknown) >= _AREA_READ_MIN_STARS:
        area = _sky_area(rows, matched_at)
        if area is not None:
            if not known.holds_area(area):
                _read_area(conn, known, area)  # the stars it finds are in the cache already
                stars.ids[unknown] = known.find(stars.keys.take(pa.array(unknown)))
                unknown = unknown[stars.ids[unknown] < 0]
            area_known = True
    if len(unknown) and not area_known:
        stars.ids[unknown] = _find(conn, stars.keys.take(pa.array(unknown)))
    missing = unknown[stars.ids[unknown] < 0]
    stars.looked_up = unknown[stars.ids[unknown] >= 0]
    if len(missing):
        first_row = np.unique(stars.per_row, return_index=True)[1]  # first row of each star
        new_keys = stars.keys.take(pa.array(missing))
        values = (lines(new_keys.to_pylist()), *_star_values(rows, matched_at[first_row[missing]]))
        reserved = _reserve(conn, len(missing))
        stars.ids[missing] = reserved
        stars.new, stars.new_at = NewStars(new_keys, reserved.copy(), values), missing
    return stars


def _borrow(stars: FileStars, unknown: np.ndarray, known: ObjectCache) -> np.ndarray:
    """Take the ids of stars that files still in flight are inserting; the rest stay unknown."""
    for owner in known.in_flight:
        if not len(unknown):
            break
        if owner.state == "failed":
            continue
        pos = pc.fill_null(
            pc.index_in(stars.keys.take(pa.array(unknown)), value_set=owner.keys), -1
        ).to_numpy()
        hit = pos >= 0
        if hit.any():
            stars.ids[unknown[hit]] = owner.ids[pos[hit]]
            stars.borrowed.append((owner, unknown[hit], pos[hit]))
            unknown = unknown[~hit]
    return unknown


def _star_values(rows: pa.Table, at: np.ndarray) -> tuple[str, ...]:
    """The INSERT's text parameters after the key for the stars first met in rows ``at``."""
    new = (
        rows.select(
            [
                "name",
                "catalog_ra_deg",
                "catalog_dec_deg",
                "ra_deg",
                "dec_deg",
                "catalog_mag",
                "catalog_bv",
                "catalog_jk",
            ]
        )
        .take(pa.array(at))
        .to_pydict()
    )
    # A star's position is the catalogue's; the measured one when SIPS gave none.
    ra = _first_present(new["catalog_ra_deg"], new["ra_deg"])
    dec = _first_present(new["catalog_dec_deg"], new["dec_deg"])
    return (
        lines(new["name"]),
        lines(map(repr, ra)),
        lines(map(repr, dec)),
        lines(_reprs(new["catalog_mag"])),
        lines(_reprs(new["catalog_bv"])),
        lines(_reprs(new["catalog_jk"])),
    )


def _first_present(preferred: list, fallback: list) -> list:
    return [p if p is not None else f for p, f in zip(preferred, fallback, strict=True)]


def _reprs(values: list[float | None]) -> list[str | None]:
    """Floats as text that reads back to the same float8 (repr is exact)."""
    return [None if v is None else repr(v) for v in values]


def _sky_area(rows: pa.Table, matched_at: np.ndarray) -> tuple[float, float, float, float] | None:
    """The (west, south, east, north) box of the matched rows' measured positions, with a
    margin; None when it is too wide to be one image's field or crosses RA 0/360."""
    ra = rows["ra_deg"].to_numpy()[matched_at]
    dec = rows["dec_deg"].to_numpy()[matched_at]
    west, east = float(np.nanmin(ra)), float(np.nanmax(ra))
    south, north = float(np.nanmin(dec)), float(np.nanmax(dec))
    widest = math.cos(math.radians(min(abs(south), abs(north)))) if south * north > 0 else 1.0
    if (
        east - west > 180
        or (east - west) * widest > _AREA_MAX_SIDE_DEG
        or north - south > _AREA_MAX_SIDE_DEG
    ):
        return None
    m = _AREA_MARGIN_DEG
    return west - m, south - m, east + m, north + m


def _read_area(
    conn: psycopg.Connection, known: ObjectCache, box: tuple[float, float, float, float]
) -> None:
    """Cache every catalogue star in ``box``. Only committed stars are read: the file's
    transaction has inserted none yet."""
    keys, ids = _keys_and_ids(*objects.in_box(*box).one(conn))
    known.boxes.append(box)
    new = known.find(keys) < 0
    known.add(keys.filter(pa.array(new)), ids[new])
