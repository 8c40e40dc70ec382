"""The query layer: SQL statements built as values, inspected by tests, run by one runner.

Every statement is built by a function here and returned as a
:class:`~aphos_lib.queries.query.Query` (its SQL and parameters) that a caller runs on a
connection, or looks at without running it, as astroquery's ``get_query_payload=True`` shows a
request before sending it:

>>> from aphos_lib import queries
>>> q = queries.observers.by_images(limit=10)
>>> q.params
(10,)
>>> "ORDER BY count(i.id) DESC" in q.text()
True

- :mod:`~aphos_lib.queries.query`: the :class:`Query` value and its runner;
- :mod:`~aphos_lib.queries.catalogue`: what the catalogue holds;
- :mod:`~aphos_lib.queries.objects`: catalogue objects: searches, one object, the ingest's stars;
- :mod:`~aphos_lib.queries.names`: star names resolved to positions by CDS Sesame, kept;
- :mod:`~aphos_lib.queries.stars`: stars: cross-identification's links, a star's members;
- :mod:`~aphos_lib.queries.observers`: observers, their images and uploads;
- :mod:`~aphos_lib.queries.images`: images;
- :mod:`~aphos_lib.queries.fluxes`: one object's stored fluxes;
- :mod:`~aphos_lib.queries.lightcurve`: the light-curve read;
- :mod:`~aphos_lib.queries.uploads`: uploads, their files and outcomes;
- :mod:`~aphos_lib.queries.service`: the server itself (a ping, its clock);
- :mod:`~aphos_lib.queries.solutions`: each image's photometric solutions;
- :mod:`~aphos_lib.queries.variability`: each object's variability statistics, a field's;
- :mod:`~aphos_lib.queries.ingest`: storing a SIPS file (its image, fluxes, counts, outcome);
- :mod:`~aphos_lib.queries.jobs`: the ingest job queue;
- :mod:`~aphos_lib.queries.setup`: the database's roles, grants and the reader's limits.

Every statement the library, the API, the widgets and the hub send is built here
(``tests/test_layers.py`` fails when SQL appears in any other module but the migrations).
"""

from aphos_lib.queries import (
    catalogue,
    fluxes,
    images,
    ingest,
    jobs,
    lightcurve,
    names,
    objects,
    observers,
    service,
    setup,
    solutions,
    stars,
    uploads,
    variability,
)
from aphos_lib.queries.query import Query

__all__ = [
    "Query",
    "catalogue",
    "fluxes",
    "images",
    "ingest",
    "jobs",
    "lightcurve",
    "names",
    "objects",
    "observers",
    "service",
    "setup",
    "solutions",
    "stars",
    "uploads",
    "variability",
]
