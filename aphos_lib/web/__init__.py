"""The web service (the hub's ``api`` service at ``/services/api/``) and what it serves.

- :mod:`~aphos_lib.web.api`: the FastAPI application and its routes (``python -m
  aphos_lib.web.api``);
- :mod:`~aphos_lib.web.rest`: the catalogue's REST API, the original APhoS's endpoints and
  ``/api/v2``;
- :mod:`~aphos_lib.web.service_auth`: hub sign-in for the service (tokens, the OAuth cookie,
  XSRF);
- :mod:`~aphos_lib.web.identity`: hub user names (the sign-in provider and its subject id);
- :mod:`~aphos_lib.web.profiles`: observers' public usernames, descriptions and upload logs;
- :mod:`~aphos_lib.web.published`: the notebooks observers publish;
- :mod:`~aphos_lib.web.pages`: the service's HTML pages.

Nothing here imports :mod:`aphos_lib.hub`: the hub configures and launches this service.
"""
