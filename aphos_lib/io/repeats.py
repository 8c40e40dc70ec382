"""One row per star and image: the rows of a file that measure a star a second time.

An image measures each star once. A row repeats a star already measured in the same file when
it has the same catalogue star (catalogue and id) as an earlier row, or a measured position
(``x``, ``y``) less than one pixel from an earlier row's. Such a row is not stored: it is
reported as rejected, "duplicate of line N", N being the line of the row it repeats, which is
kept. A file whose table was pasted 38 times would otherwise store 38 copies of each star in
one image, and every light curve through that field would multiply its points.

Rows are taken in file order, and a row is kept when no earlier kept row conflicts with it.
The usual cases, exact repeats of rows and pairs of rows SIPS matched to one catalogue star,
are decided with numpy: identical rows are folded onto their first occurrence, neighbours
within a pixel are found on a grid of one-pixel cells, and the remaining rows are settled in
a few vectorised rounds. A file of tens of thousands of distinct positions all within a pixel
of each other (no real image) is settled by a plain loop instead, bounded by the rows it has.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aphos_lib.io.sips import RejectedRow

__all__ = ["REPEAT_RADIUS_PX", "repeated_rows"]

#: Two measured positions closer than this (in pixels, ``x`` and ``y``) are the same star.
REPEAT_RADIUS_PX = 1.0
# Neighbour pairs per row beyond which the grid's pairs are not built (a crowd of distinct
# positions within a pixel) and the loop decides instead.
_PAIRS_PER_ROW = 16
# Rounds beyond which the rows still undecided (chains of neighbours) go to the loop.
_ROUNDS = 8
_NONE = np.iinfo(np.int64).max
# The loop's cells are clipped to this range, whatever positions a file writes.
_CELL_LIMIT = 1 << 30


def repeated_rows(rows: pa.Table) -> tuple[np.ndarray, list[RejectedRow]]:
    """Find the rows of a canonical frame that measure a star an earlier row measured.

    Parameters
    ----------
    rows : pyarrow.Table
        The canonical frame of one file (``line``, ``x``, ``y``, ``catalog``, ``catalog_id``).

    Returns
    -------
    keep : numpy.ndarray of bool
        False for the repeating rows.
    rejected : list of RejectedRow
        One per repeating row, in line order: "duplicate of line N".

    Examples
    --------
    >>> frame = pa.table({"line": [5, 6, 7], "x": [10.0, 10.4, 50.0], "y": [20.0, 20.0, 9.0],
    ...                   "catalog": ["UCAC4", None, "UCAC4"],
    ...                   "catalog_id": ["805-1", None, "805-1"]})
    >>> keep, rejected = repeated_rows(frame)
    >>> keep.tolist(), [(r.line, r.reason) for r in rejected]
    ([True, False, False], [(6, 'duplicate of line 5'), (7, 'duplicate of line 5')])
    """
    n = rows.num_rows
    keep = np.ones(n, dtype=bool)
    if n < 2:
        return keep, []
    star = _star_codes(rows)
    x = _floats(rows["x"])
    y = _floats(rows["y"])
    pairs = _neighbour_pairs(x, y)
    if pairs is not None:
        if not len(pairs[0]) and not _any_star_twice(star):
            return keep, []  # the usual file
        cites = _settle(star, x, y, pairs)
        cite = np.where(cites == -1, _NONE, cites)
    else:
        cite = _settle_copies(star, x, y)
    dropped = np.flatnonzero(cite != _NONE)
    if not len(dropped):
        return keep, []
    keep[dropped] = False
    lines = rows["line"].to_numpy()
    rejected = [
        RejectedRow(line, f"duplicate of line {of}")
        for line, of in zip(lines[dropped].tolist(), lines[cite[dropped]].tolist(), strict=True)
    ]
    return keep, rejected


def _settle_copies(star: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """:func:`_settle` for a file with many rows at one position: identical rows (same star,
    same position) are folded onto their first occurrence, and the distinct rows settled."""
    n = len(star)
    key = np.empty(n, dtype=[("s", "<i8"), ("x", "<f8"), ("y", "<f8")])
    key["s"], key["x"], key["y"] = star, x + 0.0, y + 0.0  # + 0.0: -0.0 is 0.0
    # A row without a position repeats nothing by position: its own key (its catalogue star
    # is still compared when settling).
    unplaced = ~(np.isfinite(x) & np.isfinite(y))
    key["s"][unplaced] = -2 - np.flatnonzero(unplaced)
    _, first, inverse = np.unique(
        key.view(np.void(24)).ravel(), return_index=True, return_inverse=True
    )
    first_of = first[inverse.ravel()]
    distinct = np.sort(first)
    cites = _settle(
        star[distinct], x[distinct], y[distinct], _neighbour_pairs(x[distinct], y[distinct])
    )
    cite = np.full(n, _NONE, dtype=np.int64)
    repeated = cites != -1
    cite[distinct[repeated]] = distinct[cites[repeated]]
    # A copy of a kept row repeats it; a copy of a repeating row repeats what that one does.
    copies = np.flatnonzero(first_of != np.arange(n))
    cite[copies] = np.where(
        cite[first_of[copies]] == _NONE, first_of[copies], cite[first_of[copies]]
    )
    return cite


def _any_star_twice(star: np.ndarray) -> bool:
    matched = star[star >= 0]
    return bool(len(matched)) and int(matched.max()) + 1 < len(matched)


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
    star: np.ndarray, x: np.ndarray, y: np.ndarray, pairs: tuple[np.ndarray, np.ndarray] | None
) -> np.ndarray:
    """For rows in file order: -1 for a kept row, else the index of the earlier kept row it
    repeats. ``pairs`` are the rows within a pixel of each other (None: too many)."""
    m = len(star)
    if pairs is None:
        return _settle_in_a_loop(star, x, y)
    a, b = pairs  # a < b: row b is within a pixel of the earlier row a
    state = np.zeros(m, dtype=np.int8)  # 0 undecided, 1 kept, 2 repeats a kept row
    cite = np.full(m, -1, dtype=np.int64)
    index = np.arange(m)
    has_star = star >= 0
    stars = star[has_star]
    codes = int(stars.max()) + 1 if len(stars) else 0
    for _ in range(_ROUNDS):
        undecided = state == 0
        if not undecided.any():
            return cite
        # The earliest kept and the earliest undecided row of each catalogue star.
        kept_first = np.full(codes, _NONE, dtype=np.int64)
        open_first = np.full(codes, _NONE, dtype=np.int64)
        np.minimum.at(kept_first, stars, np.where(state[has_star] == 1, index[has_star], _NONE))
        np.minimum.at(open_first, stars, np.where(state[has_star] == 0, index[has_star], _NONE))
        earlier_kept = np.full(m, _NONE, dtype=np.int64)
        earlier_open = np.zeros(m, dtype=bool)
        earlier_kept[has_star] = kept_first[stars]
        earlier_open[has_star] = open_first[stars] < index[has_star]
        near_kept = state[a] == 1
        np.minimum.at(earlier_kept, b[near_kept], a[near_kept])
        earlier_open[b[state[a] == 0]] = True
        repeats = undecided & (earlier_kept < index)
        kept = undecided & ~repeats & ~earlier_open
        state[repeats], cite[repeats] = 2, earlier_kept[repeats]
        state[kept] = 1
    if (state == 0).any():
        return _settle_in_a_loop(star, x, y)  # long chains of neighbours: no real image
    return cite


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


def _settle_in_a_loop(star: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """:func:`_settle` one row at a time, for files no image produces (see the module).

    Kept rows are at least a pixel apart, so a cell holds a handful of them and each row
    looks at a bounded number of kept rows.
    """
    cite = np.full(len(star), -1, dtype=np.int64)
    kept_star: dict[int, int] = {}
    kept_cells: dict[tuple[int, int], list[int]] = {}
    cx, cy = (
        np.clip(np.floor(np.nan_to_num(v) / REPEAT_RADIUS_PX), -_CELL_LIMIT, _CELL_LIMIT).astype(
            np.int64
        )
        for v in (x, y)
    )
    placed = np.isfinite(x) & np.isfinite(y)
    for j in range(len(star)):
        candidates = []
        if star[j] >= 0 and star[j] in kept_star:
            candidates.append(kept_star[star[j]])
        if placed[j]:
            cell = (int(cx[j]), int(cy[j]))
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    for i in kept_cells.get((cell[0] + dx, cell[1] + dy), ()):
                        if np.hypot(x[i] - x[j], y[i] - y[j]) < REPEAT_RADIUS_PX:
                            candidates.append(i)
        if candidates:
            cite[j] = min(candidates)
            continue
        if star[j] >= 0:
            kept_star[int(star[j])] = j
        if placed[j]:
            kept_cells.setdefault(cell, []).append(j)
    return cite
