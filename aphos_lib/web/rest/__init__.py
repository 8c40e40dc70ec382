"""The routers of the api service, each at module level, included by
:func:`aphos_lib.web.app.create_app`:

- :mod:`~aphos_lib.web.rest.compat`: the original APhoS's endpoints (``/api/...``);
- :mod:`~aphos_lib.web.rest.v2`: ``/api/v2``, paged and uncapped;
- :mod:`~aphos_lib.web.rest.docs`: ``/api/openapi.json`` and Swagger UI;
- :mod:`~aphos_lib.web.rest.uploads`: ``/api/v2/uploads``, signed-in observers' uploads;
- :mod:`~aphos_lib.web.rest.profiles`: ``/observers/{username}``;
- :mod:`~aphos_lib.web.rest.published`: ``/published``, the published notebooks;
- :mod:`~aphos_lib.web.rest.pages`: the browser pages and sign-in steps;
- :mod:`~aphos_lib.web.rest.health`: ``/health``.

Beside them: JSON errors (:mod:`~aphos_lib.web.rest.errors`), JSON out
(:mod:`~aphos_lib.web.rest.jsonout`) and the HTML pages' headers
(:mod:`~aphos_lib.web.rest.html`).
"""
