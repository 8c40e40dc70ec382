"""The web service (the hub's ``api`` service at ``/services/api/``) and what it serves.

- :mod:`~aphos_lib.web.app`: :func:`~aphos_lib.web.app.create_app`, the one FastAPI
  application, built from :class:`~aphos_lib.web.settings.ApiSettings`
  (``python -m aphos_lib.web.api`` serves it for the hub);
- :mod:`~aphos_lib.web.rest`: its routers, at module level (the original APhoS's endpoints,
  ``/api/v2``, uploads, profiles, published notebooks, pages, health, docs);
- :mod:`~aphos_lib.web.deps`: the routes' dependencies (settings, reader, writer, the
  signed-in user and observer); :mod:`~aphos_lib.web.xsrf`: the XSRF check every route has;
- :mod:`~aphos_lib.web.models`: the response bodies (the OpenAPI document's schemas);
- :mod:`~aphos_lib.web.service_auth`: hub sign-in for the service (tokens, the OAuth cookie);
- :mod:`~aphos_lib.web.identity`: hub user names (the sign-in provider and its subject id);
- :mod:`~aphos_lib.web.profiles`: observers' public usernames, descriptions and upload logs;
- :mod:`~aphos_lib.web.published`: the notebooks observers publish;
- :mod:`~aphos_lib.web.pages`: the service's HTML pages.

Nothing here imports :mod:`aphos_lib.hub`: the hub configures and launches this service.
"""
