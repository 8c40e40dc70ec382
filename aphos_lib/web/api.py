"""The hub's ``api`` service at ``/services/api/``: ``python -m aphos_lib.web.api``.

Run by the hub with the writer role's database login; the application is
:func:`aphos_lib.web.app.create_app` with the settings of the hub's environment
(:meth:`aphos_lib.web.settings.ApiSettings.from_environment`). Routes:

- ``GET`` the service's root: to the REST API's documentation;
- ``api/...``: the catalogue's REST API (the original APhoS's endpoints, ``api/v2``,
  ``api/openapi.json`` and Swagger UI at ``api/docs``), public, read through the read-only
  role; ``api/users/current`` names the signed-in observer;
- ``api/v2/uploads...``: an observer's uploads, their jobs and reports, for the signed-in
  observer only;
- ``GET health``: the service and its database answer;
- ``GET oauth_callback``, ``welcome``, ``upload``, ``signed-in``, ``GET/POST profile``: the
  browser pages and sign-in steps (:mod:`aphos_lib.web.rest.pages`);
- ``GET observers/{username}``: a public profile with its uploads (HTML or JSON);
  ``PUT observers/{username}``: change a profile, only its owner;
- ``GET published``, ``GET published/{username}/{name}``: the published notebooks (public);
  ``PUT/DELETE published/{name}``: publish or withdraw one's own notebook.

Every change (POST, PUT, DELETE) made with the browser's cookie must echo the XSRF cookie
(:mod:`aphos_lib.web.xsrf`).
"""

from __future__ import annotations

from aphos_lib.web.app import create_app
from aphos_lib.web.serve import serve_hub_service
from aphos_lib.web.settings import ApiSettings

__all__ = ["create_app", "main"]


def main() -> None:
    """Serve on the address the hub gave this service (``JUPYTERHUB_SERVICE_URL``)."""
    serve_hub_service(create_app(ApiSettings.from_environment()), "http://127.0.0.1:8003")


if __name__ == "__main__":
    main()
