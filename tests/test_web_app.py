"""The api service's application: every change XSRF-checked, every JSON answer described.

The routes are walked in the built application (what the service serves), the XSRF refusals
are sent to it over HTTP with a stand-in for the hub's token check (tests/upload_service.py),
and real answers are read against the models the OpenAPI document shows.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import httpx
import nbformat
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.routing import Route
from upload_service import BASE, PREFIX, StandInHub, environment, headers, serve_api

from aphos_lib.web.app import create_app
from aphos_lib.web.models import compat, service, uploads, v2
from aphos_lib.web.service_auth import ServiceAuth
from aphos_lib.web.settings import ApiSettings
from aphos_lib.web.xsrf import XSRF_FAILED, require_xsrf, write_routes_without_xsrf

from conftest import make_home

try:
    from fastapi.routing import iter_route_contexts  # included routers walked into
except ImportError:  # older FastAPI lists every route flat

    def iter_route_contexts(routes):
        return routes


SAFE = {"GET", "HEAD", "OPTIONS"}
XSRF_REFUSAL = "XSRF check failed: reload the form and try again"  # as before the web package
# Every route of the service that changes something; the walk must find exactly these.
WRITE_ROUTES = {
    f"POST {PREFIX}api/v2/uploads",
    f"PUT {PREFIX}observers/{{username}}",
    f"PUT {PREFIX}published/{{name}}",
    f"DELETE {PREFIX}published/{{name}}",
    f"POST {PREFIX}profile",
}


def service_app() -> FastAPI:
    return create_app(ApiSettings(auth=ServiceAuth(PREFIX, hub_auth=StandInHub())))


def depends_on(dependant, call) -> bool:
    """Whether ``call`` is among the dependencies of ``dependant``, at any depth."""
    return any(d.call is call or depends_on(d, call) for d in dependant.dependencies)


def test_every_route_that_changes_something_checks_xsrf():
    for app in (service_app(), create_app(ApiSettings())):
        writes, unchecked = set(), []
        for route in iter_route_contexts(app.routes):
            original = getattr(route, "original_route", route)
            if not isinstance(original, Route):
                continue  # the static files' mount
            for method in set(route.methods or ()) - SAFE:
                writes.add(f"{method} {route.path}")
                if not (
                    isinstance(original, APIRoute) and depends_on(route.dependant, require_xsrf)
                ):
                    unchecked.append(f"{method} {route.path}")
        assert unchecked == []
        assert write_routes_without_xsrf(app.routes) == []
        assert writes == (WRITE_ROUTES if app.state.settings.auth else set())
    assert XSRF_FAILED == XSRF_REFUSAL


def test_the_route_walk_finds_a_change_without_the_check():
    app = FastAPI()

    @app.post("/forgot")
    def forgot() -> dict:
        return {}

    @app.get("/read")
    def read() -> dict:
        return {}

    async def raw(request):
        return None

    app.router.add_route("/raw", raw, methods=["GET", "DELETE"])
    assert write_routes_without_xsrf(app.routes) == ["POST /forgot", "DELETE /raw"]


def test_a_route_added_after_the_app_is_built_is_checked_too():
    app = service_app()

    @app.patch(f"{PREFIX}later")
    def later() -> dict:
        return {}

    assert write_routes_without_xsrf(app.routes) == []


def test_the_app_has_one_lifespan_and_routers_from_modules():
    from fastapi import APIRouter

    from aphos_lib.web.app import PUBLIC_ROUTERS, SIGNED_IN_ROUTERS

    app = service_app()
    default = type(APIRouter().lifespan_context)
    # The application's lifespan (aphos_lib.web.app.lifespan) is the only one: no router
    # brings its own, nor start-up or shut-down handlers.
    for router in (*PUBLIC_ROUTERS, *SIGNED_IN_ROUTERS):
        assert type(router.lifespan_context) is default
        assert router.on_startup == [] and router.on_shutdown == []
    assert app.router.on_startup == [] and app.router.on_shutdown == []
    routes = iter_route_contexts(app.routes)
    modules = {r.endpoint.__module__ for r in routes if getattr(r, "endpoint", None)}
    assert modules == {
        f"aphos_lib.web.rest.{name}"
        for name in ("compat", "v2", "docs", "uploads", "profiles", "published", "pages", "health")
    }


def notebook() -> bytes:
    return nbformat.writes(nbformat.v4.new_notebook()).encode()


@pytest.fixture(scope="module")
def api(embedded_server) -> Iterator[dict]:
    home = make_home("aphos-web-app-")
    catalogue, dbname = embedded_server.clone()
    try:
        with (
            environment(APHOS_HOME=str(home), APHOS_UPLOADS_DIR=None),
            serve_api(catalogue, home) as url,
        ):
            yield {"url": url, "home": home}
    finally:
        catalogue.dispose()
        embedded_server.drop(dbname)
        shutil.rmtree(home, ignore_errors=True)


def browser(api, who: str, xsrf: str | None = "the-token") -> httpx.Client:
    """A browser signed in by the hub's cookie, holding the ``_xsrf`` cookie ``xsrf``."""
    cookies = {"stand-in-cookie": f"tok-{who}"}
    if xsrf:
        cookies["_xsrf"] = xsrf
    return httpx.Client(base_url=api["url"], cookies=cookies, timeout=60)


def refused(r: httpx.Response) -> bool:
    return r.status_code == 403 and r.json()["message"] == XSRF_REFUSAL


@pytest.mark.catalogue
def test_every_change_by_cookie_without_the_token_is_refused_as_before(api):
    page = PREFIX + "observers/Alice"
    with browser(api, "alice") as alice:
        changes = {
            "upload": alice.post(PREFIX + "api/v2/uploads", files={"files": ("a.csv", b"x")}),
            "profile": alice.put(page, json={"description": "changed"}),
            "publish": alice.put(PREFIX + "published/a.ipynb", content=notebook()),
            "withdraw": alice.delete(PREFIX + "published/a.ipynb"),
            "form": alice.post(PREFIX + "profile", data={"username": "Alice"}),
            "wrong token": alice.put(
                page, json={"description": "changed"}, headers={"X-XSRFToken": "another"}
            ),
            "large form": alice.post(
                PREFIX + "profile", data={"username": "Alice", "x": "y" * 70_000}
            ),
        }
        for what, r in changes.items():
            assert refused(r), (what, r.status_code, r.text)
        assert set(changes["upload"].json()) == {"id", "message"}
        # Reading needs no token.
        assert alice.get(page).json()["description"] == ""
        assert alice.get(PREFIX + "api/v2/uploads").status_code == 200
    with browser(api, "alice", xsrf=None) as no_cookie:  # a token echoes nothing: refused
        r = no_cookie.put(page, json={"description": "x"}, headers={"X-XSRFToken": "x"})
        assert refused(r)
    # Nobody signed in: 401, not 403, before anything is read.
    r = httpx.put(api["url"] + page, json={"description": "x"})
    assert r.status_code == 401 and r.json()["message"] == "sign in through the hub first"
    assert httpx.get(api["url"] + page).json()["description"] == ""


@pytest.mark.catalogue
def test_changes_that_echo_the_token_or_come_with_a_hub_token_go_through(api):
    page = PREFIX + "observers/Bob"
    with browser(api, "bob") as bob:
        r = bob.put(page, json={"description": "by header"}, headers={"X-XSRFToken": "the-token"})
        assert check(service.SavedProfile, r)["description"] == "by header"
        r = bob.put(page + "?_xsrf=the-token", json={"description": "by query"})
        assert r.status_code == 200 and r.json()["description"] == "by query"
        form = {"_xsrf": "the-token", "username": "Bob", "description": "by form"}
        r = bob.post(PREFIX + "profile", data=form)
        assert r.status_code == 303 and r.headers["location"] == PREFIX + "observers/Bob"
        echo = {"X-XSRFToken": "the-token"}
        r = bob.put(PREFIX + "published/b.ipynb", content=notebook(), headers=echo)
        assert r.status_code == 200 and r.json() == {
            "username": "Bob",
            "name": "b.ipynb",
            "url": f"{PREFIX}published/Bob/b.ipynb",
        }
        assert bob.delete(PREFIX + "published/b.ipynb", headers=echo).status_code == 204
    assert httpx.get(api["url"] + page).json()["description"] == "by form"
    # A hub token in the header cannot be sent by another site's page: no XSRF token needed.
    r = httpx.put(api["url"] + page, json={"description": "by token"}, headers=headers("bob"))
    assert r.status_code == 200 and r.json()["description"] == "by token"
    # The refusals that follow the XSRF check are unchanged: not one's own profile, no username.
    r = httpx.put(api["url"] + PREFIX + "observers/Alice", json={}, headers=headers("bob"))
    assert r.status_code == 403 and r.json()["message"] == "only the owner may edit a profile"
    r = httpx.put(
        api["url"] + PREFIX + "published/n.ipynb", content=notebook(), headers=headers("nameless")
    )
    assert r.status_code == 409 and "choose a username first" in r.json()["message"]


def check(model: type[BaseModel], r: httpx.Response) -> dict:
    """The answer is exactly what ``model`` describes (no field more or less); its body."""
    assert r.status_code < 300, r.text
    model.model_validate_json(r.content, strict=True)
    return r.json()


@pytest.mark.catalogue
def test_answers_of_the_service_are_what_their_models_describe(api):
    url = api["url"]
    sent = httpx.post(
        url + BASE, files={"files": ("a.csv", b"x;y\n")}, headers=headers("carol"), timeout=60
    )
    body = check(uploads.UploadAccepted, sent)
    check(uploads.UploadStatus, httpx.get(url + body["status_url"], headers=headers("carol")))
    log = check(uploads.UploadLog, httpx.get(url + BASE, headers=headers("carol")))
    assert log["total"] == 1
    check(uploads.Session, httpx.get(url + BASE + "/session", headers=headers("carol")))
    profile = check(service.Profile, httpx.get(url + PREFIX + "observers/Carol"))
    assert profile["uploads"] and profile["totals"]["uploads"] == 1
    check(service.Health, httpx.get(url + PREFIX + "health"))
    put = httpx.put(
        url + PREFIX + "published/c.ipynb", content=notebook(), headers=headers("carol")
    )
    check(service.Published, put)
    [listed] = httpx.get(url + PREFIX + "published").json()
    service.PublishedNotebook.model_validate(listed, strict=True)
    current = httpx.get(url + PREFIX + "api/users/current", headers=headers("carol"))
    assert check(compat.User, current) == {"username": "Carol", "description": None}


@pytest.mark.catalogue
@pytest.mark.slow
def test_answers_of_the_catalogue_api_are_what_their_models_describe(api_url):
    gk = "spaceObjectId=805-031770"
    pair = "originalId=805-031770&referenceId=803-032417"
    curve = "variable=UCAC4:805-031770&comparison=UCAC4:803-032417"
    original = {"User-Agent": "OpenAPI-Generator/2.5.3/python"}
    with httpx.Client(base_url=api_url, timeout=120) as client:
        found = client.get("/api/space-objects/search-by-params?name=GK")
        [space_object] = found.json()
        compat.SpaceObject.model_validate(space_object, strict=True)
        check(compat.SpaceObjectWithFluxes, client.get(f"/api/space-objects/search?{gk}"))
        check(compat.ComparisonObject, client.get(f"/api/space-objects/comparison?{pair}"))
        # The original client's dialect (NaN tokens) has the same fields.
        raw = client.get(f"/api/space-objects/comparison?{pair}", headers=original)
        assert b"NaN" in raw.content or b"Infinity" in raw.content
        check(compat.User, client.get("/api/users/novak"))
        cone = "ra=21 30 59.15&dec=+70 49 23.58&radius=5arcmin"
        assert check(v2.ObjectsPage, client.get(f"/api/v2/objects?{cone}"))["objects"]
        check(v2.ObjectsPage, client.get("/api/v2/objects?limit=20"))
        check(v2.Object, client.get("/api/v2/objects/UCAC4/805-031770"))
        check(v2.FluxesPage, client.get("/api/v2/objects/UCAC4/805-031770/fluxes?limit=20"))
        check(v2.LightCurve, client.get(f"/api/v2/lightcurve?{curve}"))
        with_check = client.get(f"/api/v2/lightcurve?{curve}&check=UCAC4:804-031083")
        assert "check_magnitude" in check(v2.LightCurve, with_check)["rows"][0]
        check(v2.Minima, client.get(f"/api/v2/minima?{curve}&epoch=2459525.3&period=0.936"))
        check(v2.Observer, client.get("/api/v2/observers/novak"))


def test_the_openapi_document_describes_every_json_answer():
    document = service_app().openapi()
    schemas = document["components"]["schemas"]
    untyped = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                schema = answer.get("content", {}).get("application/json", {}).get("schema")
                if not status.startswith("2") or schema is None:
                    continue
                if not ("$ref" in schema or "items" in schema or "anyOf" in schema):
                    untyped.append(f"{method.upper()} {path} {status}: {schema}")
    assert untyped == []
    for name in ("SpaceObject", "FluxData", "ComparisonObject", "LightCurve", "UploadStatus"):
        assert schemas[name]["additionalProperties"] is False, name
    flux_data = schemas["FluxData"]["properties"]
    assert {"rightAsc", "dec", "apAuto", "cmpApertureDevs"} <= set(flux_data)
