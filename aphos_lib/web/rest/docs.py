"""The API's own documentation: OpenAPI JSON and Swagger UI, served with no internet access.

FastAPI's default pages load Swagger UI from a CDN; observers' browsers and the hub may have
no way out, so the UI's files come from the ``swagger-ui-bundle`` package and are served by
the service itself.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from aphos_lib.web.rest.html import content_security_policy

__all__ = ["add_docs"]


def add_docs(app: FastAPI, prefix: str = "") -> None:
    """Serve ``{prefix}/api/openapi.json`` and Swagger UI at ``{prefix}/api/docs``."""
    static = f"{prefix}/api/docs/static"
    app.mount(static, StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui")

    schema: dict = {}

    @app.get(f"{prefix}/api/openapi.json", include_in_schema=False)
    def openapi() -> JSONResponse:
        if not schema:
            schema.update(_without_422(app.openapi()))
        return JSONResponse(schema)

    @app.get(f"{prefix}/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=f"{prefix}/api/openapi.json",
            title="APhoS API",
            swagger_js_url=f"{static}/swagger-ui-bundle.js",
            swagger_css_url=f"{static}/swagger-ui.css",
            swagger_favicon_url=f"{static}/favicon-32x32.png",
        )
        # The page starts Swagger UI with an inline script: allowed by its hash, and only it.
        page.headers["Content-Security-Policy"] = content_security_policy(
            *_script_hashes(page.body.decode())
        )
        return page


def _script_hashes(page: str) -> list[str]:
    """CSP sources (``'sha256-...'``) of the inline scripts of an HTML page."""
    scripts = re.findall(r"<script>(.*?)</script>", page, flags=re.S)
    digests = (hashlib.sha256(body.encode()).digest() for body in scripts)
    return [f"'sha256-{base64.b64encode(d).decode()}'" for d in digests]


def _without_422(schema: dict) -> dict:
    """Bad parameters are answered 400 (as the original did), never FastAPI's 422."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            operation.get("responses", {}).pop("422", None)
    return schema
