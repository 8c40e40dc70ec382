"""Star names resolved to positions (``resolved_name``, migration 0018): the catalogue's
cache of CDS Sesame's answers, read by any role and written by the writer only."""

from __future__ import annotations

from aphos_lib.queries.query import Query

__all__ = ["access", "lookup", "store"]


def access() -> Query:
    """Whether this connection may read the cache and may add to it: two booleans, both
    false when the table is missing (a catalogue not yet migrated to 0018).

    Examples
    --------
    >>> "has_table_privilege" in access().text()
    True
    """
    return Query(
        "SELECT coalesce(has_table_privilege(t, 'SELECT'), false),"
        " coalesce(has_table_privilege(t, 'INSERT'), false)"
        " FROM (SELECT to_regclass('resolved_name')::oid AS t) AS cache"
    )


def lookup(name_key: str) -> Query:
    """The position kept for a name: (ra_deg, dec_deg, source, resolved_at), or no row.

    Examples
    --------
    >>> lookup("gk cep").params
    ('gk cep',)
    """
    return Query(
        "SELECT ra_deg, dec_deg, source, resolved_at FROM resolved_name WHERE name_key = %s",
        (name_key,),
    )


def store(name_key: str, ra_deg: float, dec_deg: float, source: str) -> Query:
    """Keep a name's position; a name already kept (another session was quicker) stays as
    it is.

    Examples
    --------
    >>> q = store("gk cep", 322.7464583, 70.8232167, "Simbad")
    >>> "ON CONFLICT (name_key) DO NOTHING" in q.text()
    True
    """
    return Query(
        "INSERT INTO resolved_name (name_key, ra_deg, dec_deg, source) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (name_key) DO NOTHING",
        (name_key, ra_deg, dec_deg, source),
    )
