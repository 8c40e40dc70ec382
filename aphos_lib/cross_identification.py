"""Cross-identification: which catalogue objects are one star on the sky.

SIPS matches each measured star to the catalogue the observer chose, so one star can be a
UCAC4 object in one observer's files and a USNO-B1.0 object in another's, and rows SIPS
matched to nothing become APhoS sources (:mod:`aphos_lib.sources`). A star (migration 0017)
groups the objects that are one object:

- two objects of different catalogues are linked when their catalogue positions are within
  :attr:`LinkRules.radius_arcsec` (1.5") of each other, each is the other's nearest object of
  the other's catalogue (one-to-one), and their magnitudes, where both catalogues give one,
  differ by at most :attr:`LinkRules.max_mag_diff`;
- the measured positions of their fluxes are a second opinion: objects whose catalogue
  positions are further apart (up to :attr:`LinkRules.moving_arcsec`, catalogues of different
  epochs of a high proper-motion star) are linked when their measured positions are within
  the radius;
- a star never holds two objects of one catalogue (APhoS sources excepted: two sources of one
  star, created by ingests that ran at once, are joined by their positions);
- linking is incremental: each fold of the ingest (:func:`link_new`) links the objects stored
  since the last one, to each other and to the stars that exist, and never moves an object
  that is already linked; :func:`relink_all` (``aphos stars relink``, and migration 0017)
  forgets every link and links everything again, which gives the same stars.

Every link records why it was made (reason, separation, magnitude difference, the member it
was linked to); ``aphos identify CATALOG:ID`` shows it. The statements are in
:mod:`aphos_lib.queries.stars`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import psycopg
from scipy.spatial import cKDTree

from aphos_lib.coordinates import unit_vectors, vector_separation_arcsec
from aphos_lib.queries import ingest as ingest_statements
from aphos_lib.queries import stars as statements
from aphos_lib.queries.objects import cone_boxes
from aphos_lib.queries.query import Query
from aphos_lib.settings import LinkRules

__all__ = [
    "APHOS_CATALOG",
    "LinkDecision",
    "LinkRules",
    "SkyObjects",
    "decide_links",
    "identify",
    "link_new",
    "relink_all",
]

APHOS_CATALOG = "APHOS"  # the catalogue of APhoS sources (rows SIPS matched to no star)

# Why an object is in its star (catalog_object.link_reason).
ALONE = "no counterpart"
BY_CATALOGUE = "catalogue positions"
BY_MEASURED = "measured positions"
FOUNDER = "founded the star"  # how aphos identify shows a member with no link


@dataclass
class SkyObjects:
    """Catalogue objects as columns: id, catalogue, RA and Dec (degrees), magnitude (NaN:
    none), star (-1: not linked yet), sorted by id."""

    id: np.ndarray
    catalog: np.ndarray
    ra_deg: np.ndarray
    dec_deg: np.ndarray
    mag: np.ndarray
    star: np.ndarray

    @classmethod
    def from_row(cls, row: tuple) -> SkyObjects:
        """From the one row of arrays :mod:`aphos_lib.queries.stars` reads."""
        ids, catalogs, ra, dec, mag, star = row
        return cls(
            np.asarray(ids, dtype=np.int64),
            np.asarray(catalogs, dtype=object),
            np.asarray(ra, dtype=float),
            np.asarray(dec, dtype=float),
            np.asarray(mag, dtype=float),
            np.asarray(star, dtype=np.int64),
        )

    def __len__(self) -> int:
        return len(self.id)


@dataclass
class LinkDecision:
    """Where each object to link goes, and why.

    ``star`` holds an existing star's id, or ``-(k + 1)`` for the k-th new star; ``linked_to``
    the object id of the member it was linked to (-1: none, it leads a new star).
    """

    object_id: np.ndarray
    star: np.ndarray
    reason: list[str]
    separation_arcsec: np.ndarray
    mag_diff: np.ndarray
    linked_to: np.ndarray

    @property
    def new_stars(self) -> int:
        """How many new stars the decision creates."""
        return int(-self.star.min()) if len(self.star) and self.star.min() < 0 else 0


def _chord(arcsec: float) -> float:
    return 2 * math.sin(math.radians(arcsec / 3600) / 2)


def decide_links(
    objects: SkyObjects,
    to_link: np.ndarray,
    rules: LinkRules,
    measured: Callable[[np.ndarray], dict[int, tuple[float, float]]] | None = None,
) -> LinkDecision:
    """Link the objects ``to_link`` (a mask over ``objects``) to each other and to the stars
    of the others (see the module for the rules).

    Parameters
    ----------
    objects : SkyObjects
        The objects to link and every object near them (already linked ones keep their star).
    to_link : numpy.ndarray of bool
        Which of ``objects`` to link; none of them may have a star yet.
    rules : LinkRules
    measured : callable, optional
        Given object ids, their mean measured positions ``{id: (ra_deg, dec_deg)}`` (those
        with fluxes); asked only for pairs further apart than the radius. None: catalogue
        positions alone.

    Returns
    -------
    LinkDecision
        One entry per object to link, in the order of ``objects``.

    Examples
    --------
    A UCAC4 and a USNO-B1.0 object 0.5" apart are one star; a third object 4" away stays a
    star of its own:

    >>> objs = SkyObjects(np.array([1, 2, 3]), np.array(["UCAC4", "USNO-B1.0", "UCAC4"]),
    ...                   np.array([10.0, 10.0 + 0.5 / 3600, 10.0]),
    ...                   np.array([20.0, 20.0, 20.0 + 4 / 3600]),
    ...                   np.array([12.0, 12.3, 13.0]), np.array([-1, -1, -1]))
    >>> d = decide_links(objs, np.ones(3, bool), LinkRules())
    >>> d.star.tolist(), d.reason
    ([-1, -1, -2], ['no counterpart', 'catalogue positions', 'no counterpart'])
    >>> round(float(d.separation_arcsec[1]), 3), d.linked_to.tolist()
    (0.47, [-1, 1, -1])
    """
    n = len(objects)
    to_link = np.asarray(to_link, dtype=bool)
    i, j = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    linking = np.flatnonzero(to_link)
    if n > 1 and len(linking):
        # Each object's nearest few only: a crowd of objects at one position (many
        # catalogues, or a file made to be costly) costs a bounded number of pairs each.
        xyz = unit_vectors(objects.ra_deg, objects.dec_deg)
        k = min(_NEIGHBOURS + 1, n)
        _, near = cKDTree(xyz).query(
            xyz[linking], k=k, distance_upper_bound=_chord(rules.moving_arcsec)
        )
        near = np.asarray(near).reshape(len(linking), k)
        a = np.repeat(linking, k)
        b = near.ravel()
        keep = (b < n) & (b != a)
        a, b = a[keep], b[keep]
        pairs = np.unique(np.column_stack([np.minimum(a, b), np.maximum(a, b)]), axis=0)
        i, j = pairs[:, 0], pairs[:, 1]
    xyz = unit_vectors(objects.ra_deg[i], objects.dec_deg[i])
    separation = vector_separation_arcsec(
        np.linalg.norm(xyz - unit_vectors(objects.ra_deg[j], objects.dec_deg[j]), axis=1)
    )
    cat_i, cat_j = objects.catalog[i], objects.catalog[j]
    distinct = (cat_i != cat_j) | (cat_i == APHOS_CATALOG)
    dmag = np.abs(objects.mag[i] - objects.mag[j])  # NaN when either has none
    consistent = ~(dmag > rules.max_mag_diff)
    candidate = distinct & consistent
    effective = np.where(separation <= rules.radius_arcsec, separation, np.inf)
    reason = np.where(separation <= rules.radius_arcsec, BY_CATALOGUE, "")
    far = candidate & (separation > rules.radius_arcsec)
    if measured is not None and far.any():
        ids = np.unique(np.concatenate([objects.id[i[far]], objects.id[j[far]]]))
        seen = measured(ids)
        far_at = np.flatnonzero(far)
        nowhere = (np.nan, np.nan)
        pos_a = np.array([seen.get(int(o), nowhere) for o in objects.id[i[far_at]]]).reshape(-1, 2)
        pos_b = np.array([seen.get(int(o), nowhere) for o in objects.id[j[far_at]]]).reshape(-1, 2)
        with np.errstate(invalid="ignore"):
            apart = vector_separation_arcsec(
                np.linalg.norm(
                    unit_vectors(pos_a[:, 0], pos_a[:, 1]) - unit_vectors(pos_b[:, 0], pos_b[:, 1]),
                    axis=1,
                )
            )
            agree = apart <= rules.radius_arcsec  # False where either has no fluxes (NaN)
        effective[far_at[agree]], reason[far_at[agree]] = apart[agree], BY_MEASURED
    candidate &= np.isfinite(effective)
    i, j, effective, reason = i[candidate], j[candidate], effective[candidate], reason[candidate]
    separation, dmag = separation[candidate], dmag[candidate]
    mutual = _mutual_nearest(i, j, effective, objects.catalog)
    i, j, effective, reason = i[mutual], j[mutual], effective[mutual], reason[mutual]
    separation, dmag = separation[mutual], dmag[mutual]

    # Join groups, nearest pairs first: never two existing stars, never two objects of one
    # catalogue (APhoS sources aside) in a star.
    parent = np.arange(n)

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    # A group's star and catalogues, by its root: filled for the objects in a pair only.
    group_star: dict[int, int] = {}
    group_catalogs: dict[int, set] = {}
    paired = np.unique(np.concatenate([i, j]))
    existing = paired[objects.star[paired] >= 0]
    # Existing stars' members here: each star's catalogues as far as they are here.
    members = np.flatnonzero(np.isin(objects.star, objects.star[existing]))
    for k in paired.tolist():
        group_star[k] = int(objects.star[k])
        group_catalogs[k] = _catalogs({objects.catalog[k]})
    first_of: dict[int, int] = {}
    for k in members.tolist():
        first = first_of.setdefault(int(objects.star[k]), k)
        group_star.setdefault(k, int(objects.star[k]))
        group_catalogs.setdefault(k, _catalogs({objects.catalog[k]}))
        if first != k:
            parent[k] = first
            group_catalogs[first] |= group_catalogs[k]
    link = {}
    for k in np.argsort(effective, kind="stable"):
        a, b = int(i[k]), int(j[k])
        ra_, rb = root(a), root(b)
        if ra_ == rb:
            continue
        sa, sb = group_star[ra_], group_star[rb]
        if sa >= 0 and sb >= 0:
            continue
        if group_catalogs[ra_] & group_catalogs[rb]:
            continue
        parent[rb] = ra_
        group_star[ra_] = max(sa, sb)
        group_catalogs[ra_] |= group_catalogs[rb]
        # The object that joins is the one to link (the later one when both are new).
        joining, other = (b, a) if to_link[b] and (not to_link[a] or b > a) else (a, b)
        if to_link[joining] and joining not in link:
            link[joining] = (other, float(effective[k]), float(dmag[k]), str(reason[k]))
    new_star: dict[int, int] = {}
    rows = np.flatnonzero(to_link)
    star = np.empty(len(rows), dtype=np.int64)
    reasons, seps, dmags, linked = (
        [],
        np.full(len(rows), np.nan),
        np.full(len(rows), np.nan),
        np.full(len(rows), -1, dtype=np.int64),
    )
    for out, k in enumerate(rows):
        r = root(int(k))
        if group_star.get(r, -1) >= 0:
            star[out] = group_star[r]
        else:
            star[out] = new_star.setdefault(r, -(len(new_star) + 1))
        if int(k) in link:
            other, sep, dm, why = link[int(k)]
            linked[out], seps[out], dmags[out] = objects.id[other], sep, dm
            reasons.append(why)
        else:
            reasons.append(ALONE)
    return LinkDecision(objects.id[rows], star, reasons, seps, dmags, linked)


def _catalogs(names: set) -> set:
    """A group's catalogues that may appear once per star (APhoS sources may repeat)."""
    return {c for c in names if c != APHOS_CATALOG}


def _mutual_nearest(i: np.ndarray, j: np.ndarray, effective: np.ndarray, catalog: np.ndarray):
    """Which pairs are one-to-one: each is the other's nearest candidate of its catalogue."""
    if not len(i):
        return np.zeros(0, dtype=bool)
    edges = pd.DataFrame(
        {
            "a": np.concatenate([i, j]),
            "cat_b": np.concatenate([catalog[j], catalog[i]]),
            "d": np.concatenate([effective, effective]),
        }
    )
    nearest = edges.groupby(["a", "cat_b"], sort=False)["d"].transform("min").to_numpy()
    m = len(i)
    return (effective <= nearest[:m]) & (effective <= nearest[m:])


def _measured_positions(conn: psycopg.Connection):
    def measured(ids: np.ndarray) -> dict[int, tuple[float, float]]:
        rows = statements.measured_positions(ids.tolist()).rows(conn)
        return {int(r[0]): (float(r[1]), float(r[2])) for r in rows}

    return measured


def _leaders(decision: LinkDecision) -> np.ndarray:
    """Each decided object's star: an existing star's id, or for a new star the id of its
    first object (a star takes the id of the object that founded it)."""
    star = decision.star.copy()
    new = star < 0
    if new.any():
        first = pd.Series(decision.object_id[new]).groupby(star[new]).transform("min")
        star[new] = first.to_numpy()
    return star


def _links(decision: LinkDecision, rows: np.ndarray, star: np.ndarray) -> Query:
    """The links of the decided objects ``rows`` to their stars (a star's founder: none)."""
    founder = star == decision.object_id
    return statements.set_links(
        decision.object_id[rows].tolist(),
        star[rows].tolist(),
        [None if founder[k] else decision.reason[k] for k in rows.tolist()],
        [None if math.isnan(v) else v for v in decision.separation_arcsec[rows].tolist()],
        [None if math.isnan(v) else v for v in decision.mag_diff[rows].tolist()],
        [None if v < 0 else v for v in decision.linked_to[rows].tolist()],
    )


def _write_new(conn: psycopg.Connection, decision: LinkDecision) -> list[int]:
    """Store the linking of the objects stored since the last fold, each the founder of a
    star of its own: those that join another star move to it (their own star goes), the
    others stay, untouched. Returns the stars that gained members."""
    star = _leaders(decision)
    moving = np.flatnonzero(star != decision.object_id)
    if not len(moving):
        return []
    _links(decision, moving, star).run(conn)
    statements.drop_stars(decision.object_id[moving].tolist()).run(conn)
    grown = sorted(set(star[moving].tolist()))
    statements.refresh(grown).run(conn)
    return grown


# The objects each object to link is compared with: its nearest within moving_arcsec.
_NEIGHBOURS = 8

# The unlinked objects' neighbourhoods are read as boxes around the objects of each cell of
# this size in declination (and as wide on the sky in RA): a field's few thousand new objects
# are a few boxes, not one per object.
_CELL_DEG = 0.5


def _neighbourhoods(
    objects: SkyObjects, rules: LinkRules
) -> list[tuple[float, float, float, float]]:
    """(west, south, east, north) boxes holding every object within ``moving_arcsec`` of
    any of ``objects``.

    Examples
    --------
    >>> objs = SkyObjects(np.array([1, 2]), np.array(["A", "A"]), np.array([10.0, 10.1]),
    ...                   np.array([20.0, 20.1]), np.array([1.0, 1.0]), np.array([-1, -1]))
    >>> [tuple(round(v, 4) for v in b) for b in _neighbourhoods(objs, LinkRules())]
    [(9.997, 19.9972, 10.103, 20.1028)]
    """
    reach = rules.moving_arcsec / 3600
    ra, dec = objects.ra_deg, objects.dec_deg
    # cone_boxes for every object at once: one box each, unless it crosses RA 0/360 or
    # reaches a pole (those take cone_boxes' own boxes).
    low, high = dec - reach, dec + reach
    with np.errstate(invalid="ignore", divide="ignore"):
        across = np.sin(np.radians(reach)) / np.cos(np.radians(dec))
        half = np.degrees(np.arcsin(np.minimum(across, 1.0))) + 1e-9
    west, east = ra - half, ra + half
    simple = (high < 90.0) & (low > -90.0) & (across < 1.0) & (west >= 0.0) & (east <= 360.0)
    boxes = [b for k in np.flatnonzero(~simple) for b in cone_boxes(ra[k], dec[k], reach)]
    at = np.flatnonzero(simple)
    if not len(at):
        return boxes
    width = _CELL_DEG / np.maximum(np.cos(np.radians(dec[at])), 1e-3)
    cell = np.column_stack([np.floor(dec[at] / _CELL_DEG), np.floor(ra[at] / width)])
    _, first, group = np.unique(cell, axis=0, return_index=True, return_inverse=True)
    group = group.ravel()
    cells = len(first)
    bounds = [np.full(cells, np.inf), np.full(cells, np.inf), np.full(cells, -np.inf)]
    bounds.append(np.full(cells, -np.inf))
    np.minimum.at(bounds[0], group, west[at])
    np.minimum.at(bounds[1], group, low[at] - 1e-9)
    np.maximum.at(bounds[2], group, east[at])
    np.maximum.at(bounds[3], group, high[at] + 1e-9)
    order = np.argsort(first, kind="stable")  # the cells in the order the objects come
    return [tuple(float(b[g]) for b in bounds) for g in order] + boxes


def link_new(conn: psycopg.Connection, rules: LinkRules | None = None) -> list[int]:
    """Link the objects stored since the last fold (``link_pending``): to each other and to
    the stars near them. Run in the fold's transaction, under its lock.

    Returns
    -------
    list of int
        The stars that gained members.
    """
    rules = rules or LinkRules.from_environment()
    new = SkyObjects.from_row(statements.take_pending().one(conn))
    if not len(new):
        return []
    near = SkyObjects.from_row(statements.near(_neighbourhoods(new, rules)).one(conn))
    to_link = np.isin(near.id, new.id)
    near.star[to_link] = -1  # each founded a star of its own, to be decided now
    decision = decide_links(near, to_link, rules, _measured_positions(conn))
    return _write_new(conn, decision)


def relink_all(conn: psycopg.Connection, rules: LinkRules | None = None) -> int:
    """Forget every link and link every object again, in the caller's transaction (the
    fold's lock keeps ingests' folds out until it commits). Returns the number of stars.

    ``aphos stars relink`` runs it, and migration 0017 for what was stored before it.
    """
    rules = rules or LinkRules.from_environment()
    ingest_statements.fold_lock().run(conn)
    for statement in statements.clear_links():
        statement.run(conn)
    objects = SkyObjects.from_row(statements.all_objects().one(conn))
    if not len(objects):
        return 0
    decision = decide_links(
        objects, np.ones(len(objects), dtype=bool), rules, _measured_positions(conn)
    )
    star = _leaders(decision)
    leaders = np.unique(star)
    statements.insert_stars(leaders.tolist(), leaders.tolist()).run(conn)
    _links(decision, np.arange(len(star)), star).run(conn)
    ids, members = np.unique(star, return_counts=True)
    grown = ids[members > 1].tolist()
    if grown:
        statements.refresh(grown).run(conn)
    return len(leaders)


def identify(conn: psycopg.Connection, catalog: str, catalog_id: str) -> dict | None:
    """A catalogue object's star and every member with how it was linked (``aphos identify``);
    None when the archive holds no such object.

    Returns
    -------
    dict
        ``star`` (id, or None while the object waits for its file's fold), ``ra_deg``,
        ``dec_deg``, ``name``, ``n_fluxes``, ``identifiers`` (``CATALOG ID``) and ``members``:
        each with ``catalog``, ``catalog_id``, ``name``, ``ra_deg``, ``dec_deg``, ``mag``,
        ``n_fluxes``, ``link`` (``reason``, ``separation_arcsec``, ``mag_diff``,
        ``linked_to``) and ``asked`` (the one named).
    """
    rows = statements.identification(catalog, catalog_id).rows(conn)
    if not rows:
        return None
    first = rows[0]
    members = [
        {
            "catalog": r[5],
            "catalog_id": r[6],
            "name": r[7],
            "ra_deg": r[8],
            "dec_deg": r[9],
            "mag": r[10],
            "n_fluxes": r[11],
            "link": {
                "reason": r[12] or FOUNDER,
                "separation_arcsec": r[13],
                "mag_diff": r[14],
                "linked_to": r[15],
            },
            "asked": r[16],
        }
        for r in rows
    ]
    return {
        "star": first[0],
        "ra_deg": first[1] if first[0] is not None else members[0]["ra_deg"],
        "dec_deg": first[2] if first[0] is not None else members[0]["dec_deg"],
        "name": first[3],
        "n_fluxes": first[4],
        "identifiers": [f"{m['catalog']} {m['catalog_id']}" for m in members],
        "members": members,
    }
