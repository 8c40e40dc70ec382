"""One row per source, one source per catalogue star: what the ingest keeps of a file's rows.

An image measures each source once. A row whose measured position (``x``, ``y``) is less than
one pixel from an earlier kept row's is that source again, whatever catalogue star either was
matched to: it is not stored, and is reported as rejected, "duplicate of line N", N being the
line of the row it repeats. A file whose table was pasted 38 times would otherwise store 38
copies of each star in one image, and every light curve through that field would multiply its
points.

Rows a pixel or more apart are distinct sources, and all are stored. SIPS sometimes matches
two of them to one catalogue star (a close companion, or a blend): the row whose measured
RA/Dec is nearest the star's catalogue position (``CatalogRA``/``CatalogDec``) keeps the
match, the rule the light-curve read uses for "the star's source in an image", and ties go
to the earlier row. The others are stored without it, as unmatched sources, and reported as
warnings, so that an image has exactly one source per catalogue star.

Rows are taken in file order, and a row is kept when no earlier kept row is within a pixel.
The usual cases, files with no such pair and exact repeats of rows, are decided with numpy:
identical positions are folded onto their first occurrence, neighbours within a pixel found
on the rows sorted by ``x``, and the remaining rows settled in a few vectorised rounds. A file
of tens of thousands of distinct positions all within a pixel of each other (no real image) is
settled by a plain loop instead, bounded by the rows it has.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aphos_lib.io.sips import RejectedRow

__all__ = ["REPEAT_RADIUS_PX", "Sources", "find_sources", "first_sources"]

#: Two measured positions closer than this (in pixels, ``x`` and ``y``) are the same source.
REPEAT_RADIUS_PX = 1.0
# Neighbour pairs per row beyond which the pairs are not built (a crowd of distinct positions
# within a pixel) and the loop decides instead.
_PAIRS_PER_ROW = 16
# Rounds beyond which the rows still undecided (chains of neighbours) go to the loop.
_ROUNDS = 8
_NONE = np.iinfo(np.int64).max
# The loop's cells are clipped to this range, whatever positions a file writes.
_CELL_LIMIT = 1 << 30
_NO_ROWS = np.empty(0, dtype=np.int64)


@dataclass(frozen=True)
class Sources:
    """What the ingest stores of one file's rows (indices are positions in the frame).

    Attributes
    ----------
    keep : numpy.ndarray of bool
        False for the rows that repeat a source (not stored).
    repeats, repeated : numpy.ndarray of int
        The rows not stored, in file order, and for each the earlier kept row it repeats.
    unlinked, nearer : numpy.ndarray of int
        The stored rows that lose their catalogue match, in file order, and for each the row
        that keeps the match (nearer the star's catalogue position).
    """

    keep: np.ndarray
    repeats: np.ndarray
    repeated: np.ndarray
    unlinked: np.ndarray
    nearer: np.ndarray

    def stored_rows(self, rows: pa.Table) -> pa.Table:
        """The rows to store: the repeats left out, the unlinked rows without their
        ``catalog`` and ``catalog_id`` (unmatched sources, as SIPS writes them)."""
        if len(self.unlinked):
            linked = np.ones(rows.num_rows, dtype=bool)
            linked[self.unlinked] = False
            mask = pa.array(linked)
            for name in ("catalog", "catalog_id"):
                column = rows[name]
                rows = rows.set_column(
                    rows.schema.get_field_index(name),
                    name,
                    pc.if_else(mask, column, pa.scalar(None, column.type)),
                )
        if len(self.repeats):
            rows = rows.filter(pa.array(self.keep))
        return rows

    def rejected(self, rows: pa.Table, limit: int | None = None) -> list[RejectedRow]:
        """The first ``limit`` rows not stored (all by default): "duplicate of line N"."""
        lines = rows["line"].to_numpy()
        take = slice(0, limit)
        return [
            RejectedRow(line, f"duplicate of line {of}")
            for line, of in zip(
                lines[self.repeats[take]].tolist(), lines[self.repeated[take]].tolist(), strict=True
            )
        ]

    def warnings(self, rows: pa.Table, limit: int | None = None) -> list[str]:
        """The first ``limit`` unlinked rows (all by default), as "line L: a second source
        matched to CATALOG ID (line N is nearer); stored without the catalogue match"."""
        unlinked = pa.array(self.unlinked[:limit])
        lines = rows["line"].to_numpy()
        stars = zip(
            rows["catalog"].take(unlinked).to_pylist(),
            rows["catalog_id"].take(unlinked).to_pylist(),
            strict=True,
        )
        return [
            f"line {line}: a second source matched to {catalog} {star} (line {nearer} is "
            "nearer); stored without the catalogue match"
            for line, nearer, (catalog, star) in zip(
                lines[self.unlinked[:limit]].tolist(),
                lines[self.nearer[:limit]].tolist(),
                stars,
                strict=True,
            )
        ]


def find_sources(rows: pa.Table) -> Sources:
    """Find the rows of a canonical frame that repeat a source, and the second sources of a
    catalogue star.

    Parameters
    ----------
    rows : pyarrow.Table
        The canonical frame of one file (``line``, ``x``, ``y``, ``ra_deg``, ``dec_deg``,
        ``catalog``, ``catalog_id``, ``catalog_ra_deg``, ``catalog_dec_deg``).

    Returns
    -------
    Sources

    Examples
    --------
    Line 6 is 0.4 px from line 5: the same source. Line 7 is another source of line 5's star,
    farther from its catalogue position: stored, without the match.

    >>> frame = pa.table({"line": [5, 6, 7], "x": [10.0, 10.4, 50.0], "y": [20.0, 20.0, 9.0],
    ...                   "ra_deg": [80.0, 80.0, 80.001], "dec_deg": [10.0, 10.0, 10.0],
    ...                   "catalog": ["UCAC4", None, "UCAC4"],
    ...                   "catalog_id": ["805-1", None, "805-1"],
    ...                   "catalog_ra_deg": [80.0] * 3, "catalog_dec_deg": [10.0] * 3})
    >>> sources = find_sources(frame)
    >>> sources.keep.tolist(), sources.rejected(frame)
    ([True, False, True], [RejectedRow(line=6, reason='duplicate of line 5')])
    >>> sources.warnings(frame)  # doctest: +NORMALIZE_WHITESPACE
    ['line 7: a second source matched to UCAC4 805-1 (line 5 is nearer); stored without the
      catalogue match']
    >>> sources.stored_rows(frame)["catalog_id"].to_pylist()
    ['805-1', None]
    """
    keep = np.ones(rows.num_rows, dtype=bool)
    if rows.num_rows < 2:
        return Sources(keep, _NO_ROWS, _NO_ROWS, _NO_ROWS, _NO_ROWS)
    cite = _repeats_of(_floats(rows["x"]), _floats(rows["y"]))
    repeats = np.flatnonzero(cite != _NONE)
    keep[repeats] = False
    unlinked, nearer = _second_sources(rows, keep)
    return Sources(keep, repeats, cite[repeats], unlinked, nearer)


def first_sources(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Which positions, taken in order, are kept: not within a pixel of an earlier kept one.

    The rule :func:`find_sources` applies to a file's rows, for positions alone (the demo
    generator keeps the brighter of two stars SIPS would see as one source).

    Examples
    --------
    >>> first_sources(np.array([10.0, 10.5, 11.2, 30.0]), np.array([5.0, 5.0, 5.0, 5.0]))
    array([ True, False,  True,  True])
    """
    return _repeats_of(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)) == _NONE


def _repeats_of(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """For rows in file order: the index of the earlier kept row each repeats (:data:`_NONE`
    for a kept row)."""
    pairs = _neighbour_pairs(x, y)
    if pairs is not None:
        if not len(pairs[0]):
            return np.full(len(x), _NONE, dtype=np.int64)  # the usual file
        cites = _settle(x, y, pairs)
        return np.where(cites == -1, _NONE, cites)
    return _settle_copies(x, y)


def _second_sources(rows: pa.Table, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The kept rows matched to a star another kept row nearer its catalogue position is
    matched to, in file order, and that row of each."""
    star = _star_codes(rows)
    candidates = np.flatnonzero(keep & (star >= 0))
    if not len(candidates):
        return _NO_ROWS, _NO_ROWS
    per_star = np.bincount(star[candidates])
    candidates = candidates[per_star[star[candidates]] > 1]  # the stars of several rows
    if not len(candidates):
        return _NO_ROWS, _NO_ROWS  # the usual file
    stars = star[candidates]
    ra, dec, ra0, dec0 = (
        np.radians(_floats(rows[name].take(pa.array(candidates))))
        for name in ("ra_deg", "dec_deg", "catalog_ra_deg", "catalog_dec_deg")
    )
    # cos of the distance, as the light-curve read orders a star's sources (1 is on it); a
    # row without a position is the farthest.
    close = np.sin(dec) * np.sin(dec0) + np.cos(dec) * np.cos(dec0) * np.cos(ra - ra0)
    close = np.nan_to_num(close, nan=-2.0)
    order = np.lexsort((candidates, -close, stars))  # per star: nearest first, then file order
    first = np.ones(len(order), dtype=bool)
    first[1:] = stars[order][1:] != stars[order][:-1]
    group = np.cumsum(first) - 1
    nearest = candidates[order][first]
    unlinked = candidates[order][~first]
    nearer = nearest[group[~first]]
    by_line = np.argsort(unlinked, kind="stable")
    return unlinked[by_line], nearer[by_line]


def _settle_copies(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """:func:`_repeats_of` for a file with many rows at one position: identical positions are
    folded onto their first occurrence, and the distinct ones settled."""
    n = len(x)
    key = np.empty(n, dtype=[("u", "<i8"), ("x", "<f8"), ("y", "<f8")])
    key["u"], key["x"], key["y"] = 0, x + 0.0, y + 0.0  # + 0.0: -0.0 is 0.0
    # A row without a position repeats nothing: a key of its own.
    unplaced = ~(np.isfinite(x) & np.isfinite(y))
    key["u"][unplaced] = 1 + np.flatnonzero(unplaced)
    _, first, inverse = np.unique(
        key.view(np.void(24)).ravel(), return_index=True, return_inverse=True
    )
    first_of = first[inverse.ravel()]
    distinct = np.sort(first)
    cites = _settle(x[distinct], y[distinct], _neighbour_pairs(x[distinct], y[distinct]))
    cite = np.full(n, _NONE, dtype=np.int64)
    repeated = cites != -1
    cite[distinct[repeated]] = distinct[cites[repeated]]
    # A copy of a kept row repeats it; a copy of a repeating row repeats what that one does.
    copies = np.flatnonzero(first_of != np.arange(n))
    cite[copies] = np.where(
        cite[first_of[copies]] == _NONE, first_of[copies], cite[first_of[copies]]
    )
    return cite


def _floats(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(column.to_numpy(), dtype=np.float64)  # nulls as NaN


def _star_codes(rows: pa.Table) -> np.ndarray:
    """A number per catalogue star (catalogue and id), -1 for a row matched to none."""
    ids = pc.dictionary_encode(rows["catalog_id"]).combine_chunks()
    catalogues = pc.dictionary_encode(rows["catalog"]).combine_chunks()
    codes = pc.fill_null(ids.indices, -1).to_numpy().astype(np.int64)
    if len(catalogues.dictionary) > 1:  # one catalogue is the rule; else number the pairs
        which = pc.fill_null(catalogues.indices, 0).to_numpy().astype(np.int64)
        pairs = np.where(codes >= 0, which * len(ids.dictionary) + codes, -1)
        _, codes = np.unique(pairs, return_inverse=True)
        codes = codes.ravel() - int((pairs < 0).any())
    return codes


def _settle(
    x: np.ndarray, y: np.ndarray, pairs: tuple[np.ndarray, np.ndarray] | None
) -> np.ndarray:
    """For rows in file order: -1 for a kept row, else the index of the earliest kept row it
    repeats. ``pairs`` are the rows within a pixel of each other (None: too many)."""
    m = len(x)
    if pairs is None:
        return _settle_in_a_loop(x, y)
    a, b = pairs  # a < b: row b is within a pixel of the earlier row a
    state = np.zeros(m, dtype=np.int8)  # 0 undecided, 1 kept, 2 repeats a kept row
    for _ in range(_ROUNDS):
        undecided = state == 0
        if not undecided.any():
            break
        # A row repeats a source when a kept row before it is within a pixel; it is kept when
        # none is, and no undecided row before it either.
        repeats = np.zeros(m, dtype=bool)
        repeats[b[state[a] == 1]] = True
        repeats &= undecided
        waits = np.zeros(m, dtype=bool)
        waits[b[state[a] == 0]] = True
        state[repeats] = 2
        state[undecided & ~repeats & ~waits] = 1
    else:
        if (state == 0).any():
            return _settle_in_a_loop(x, y)  # long chains of neighbours: no real image
    # Each repeat cites the earliest kept row within a pixel (a later round may have kept
    # an earlier one than the round that decided it saw).
    kept = state[a] == 1
    cite = np.full(m, _NONE, dtype=np.int64)
    np.minimum.at(cite, b[kept], a[kept])
    return np.where(state == 2, cite, -1)


def _neighbour_pairs(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Pairs (a, b), a < b, of rows less than a pixel apart; None when finding them would
    compare more than :data:`_PAIRS_PER_ROW` pairs per row.

    With the rows sorted by ``x``, each is compared with the rows less than a pixel to its
    right: an image has a few stars in any one-pixel strip.
    """
    placed = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    order = placed[np.argsort(x[placed], kind="stable")]
    xs, ys = x[order], y[order]
    rank = np.arange(len(order))
    counts = np.searchsorted(xs, xs + REPEAT_RADIUS_PX, "right") - rank - 1
    total = int(counts.sum())
    if total > _PAIRS_PER_ROW * len(order):
        return None
    left = np.repeat(rank, counts)
    right = np.arange(total) + np.repeat(rank + 1 - (np.cumsum(counts) - counts), counts)
    near = np.hypot(xs[right] - xs[left], ys[right] - ys[left]) < REPEAT_RADIUS_PX
    one, other = order[left[near]], order[right[near]]
    return np.minimum(one, other), np.maximum(one, other)


def _settle_in_a_loop(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """:func:`_settle` one row at a time, for files no image produces (see the module).

    Kept rows are at least a pixel apart, so a cell holds a handful of them and each row
    looks at a bounded number of kept rows.
    """
    cite = np.full(len(x), -1, dtype=np.int64)
    kept_cells: dict[tuple[int, int], list[int]] = {}
    cx, cy = (
        np.clip(np.floor(np.nan_to_num(v) / REPEAT_RADIUS_PX), -_CELL_LIMIT, _CELL_LIMIT).astype(
            np.int64
        )
        for v in (x, y)
    )
    placed = np.isfinite(x) & np.isfinite(y)
    for j in np.flatnonzero(placed).tolist():
        cell = (int(cx[j]), int(cy[j]))
        near = [
            i
            for dx in (-1, 0, 1)
            for dy in (-1, 0, 1)
            for i in kept_cells.get((cell[0] + dx, cell[1] + dy), ())
            if np.hypot(x[i] - x[j], y[i] - y[j]) < REPEAT_RADIUS_PX
        ]
        if near:
            cite[j] = min(near)
        else:
            kept_cells.setdefault(cell, []).append(j)
    return cite
