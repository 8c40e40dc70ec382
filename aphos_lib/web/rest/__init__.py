"""The REST API: the original APhoS's endpoints (``/api/...``), JSON errors, a reader pool.

:func:`install` adds all of it to a FastAPI application (the hub's ``api`` service, or a
bare app in tests and benchmarks)::

    app = FastAPI()
    install(app, catalogue, prefix="/services/api")
"""

from __future__ import annotations

from aphos_lib.web.rest.app import install

__all__ = ["install"]
