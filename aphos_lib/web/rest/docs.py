"""The API's own documentation: OpenAPI JSON and Swagger UI, served with no internet access.

FastAPI's default pages load Swagger UI from a CDN; observers' browsers and the hub may have
no way out, so the UI's files come from the ``swagger-ui-bundle`` package and are served by
the service itself.
"""

# No "from __future__ import annotations": FastAPI reads the endpoint signatures.
import base64
import hashlib
import json
import re

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from aphos_lib.web.deps import Settings
from aphos_lib.web.rest.html import content_security_policy

__all__ = ["mount_static", "router"]


DOCS_PATH = "/api/docs"
STATIC_PATH = f"{DOCS_PATH}/static"

router = APIRouter(include_in_schema=False)


def mount_static(app: FastAPI, route_prefix: str) -> None:
    """Serve Swagger UI's files under ``{route_prefix}/api/docs/static`` (a mount, which a
    router cannot hold)."""
    static = StaticFiles(directory=str(swagger_ui_path))
    app.mount(f"{route_prefix}{STATIC_PATH}", static, name="swagger-ui")


@router.get("/api/openapi.json")
def openapi(request: Request) -> JSONResponse:
    """The OpenAPI document, made once (the application's routes do not change)."""
    app = request.app
    if not getattr(app.state, "openapi_schema", None):
        app.state.openapi_schema = _without_422(app.openapi())
    return JSONResponse(app.state.openapi_schema)


@router.get("/api/docs")
def docs(settings: Settings) -> HTMLResponse:
    """Swagger UI, its files from the service, its one inline script allowed by hash."""
    prefix = settings.route_prefix
    static = f"{prefix}{STATIC_PATH}"
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
    """Bad parameters are answered 400 (as the original did), never FastAPI's 422: its
    responses go, and the schemas only they used."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            operation.get("responses", {}).pop("422", None)
    schemas = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        if f'"#/components/schemas/{name}"' not in json.dumps(schema["paths"]):
            schemas.pop(name, None)
    return schema
