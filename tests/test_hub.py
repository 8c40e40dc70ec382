"""The platform end to end: a real hub on loopback with its proxy and services.

Sign-in goes through GoogleOAuthenticator against a stand-in Google on 127.0.0.1; the catalogue
is a clone of the embedded test database holding a few demo images.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator

import httpx
import nbformat
import pytest

from aphos_lib.demo.load import load_demo

from conftest import make_home
from hub_harness import GoogleStandIn, RunningHub, execute, free_port_block, google_sign_in

pytestmark = [pytest.mark.hub, pytest.mark.slow, pytest.mark.serial]

ACCOUNTS = {
    "alice": {"id": "1001", "email": "alice@example.org", "verified_email": True},
    "bob": {"id": "1002", "email": "bob@example.org", "verified_email": True},
    "carol": {"id": "1003", "email": "carol@example.org", "verified_email": False},
    "mallory": {"id": "1004", "email": "mallory@elsewhere.net", "verified_email": True},
    "dave": {"id": "1005", "email": "dave@Observatory.example", "verified_email": True},
}


@pytest.fixture(scope="module")
def platform(embedded_server) -> Iterator[dict]:
    home = make_home("aphos-hub-")
    catalogue, dbname = embedded_server.clone()
    standin = GoogleStandIn(ACCOUNTS)
    hub = None
    try:
        assert load_demo(catalogue, images=6, directory=home / "demo") == 0
        notebooks = home / "shared-notebooks-src"
        notebooks.mkdir()
        nbformat.write(nbformat.v4.new_notebook(), notebooks / "start_here.ipynb")
        env = {
            **standin.environment(),
            "APHOS_HOME": str(home),
            "APHOS_PORT": str(free_port_block()),
            "APHOS_GOOGLE_ALLOWED_EMAILS": "alice@example.org,bob@example.org,carol@example.org",
            "APHOS_GOOGLE_ALLOWED_DOMAINS": "observatory.example",
            "APHOS_DATABASE_URL": catalogue.conninfo("owner"),
            "APHOS_DATABASE_URL_WRITER": catalogue.conninfo("writer"),
            "APHOS_DATABASE_URL_READER": catalogue.conninfo("reader"),
            "APHOS_NOTEBOOKS_DIR": str(notebooks),
        }
        hub = RunningHub(env, home / "hub.log")
        ready = hub.wait_ready()
        yield {"hub": hub, "url": hub.url, "catalogue": catalogue, "home": home, "ready": ready}
        seconds = hub.interrupt()
        assert seconds < 10, f"Ctrl-C took {seconds:.1f} s:\n{hub.tail()}"
    finally:
        if hub is not None and hub.process.poll() is None:
            hub.interrupt()
        standin.close()
        catalogue.dispose()
        embedded_server.drop(dbname)
        shutil.rmtree(home, ignore_errors=True)


def choose_username(
    client: httpx.Client, page: httpx.Response, username: str, description: str = ""
) -> httpx.Response:
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
    return client.post(
        "/services/api/profile",
        data={"_xsrf": xsrf, "username": username, "description": description},
    )


@pytest.fixture(scope="module")
def alice(platform) -> httpx.Client:
    client, page = google_sign_in(platform["url"], "alice")
    assert page.status_code == 200 and page.url.path == "/services/api/profile", page.text
    assert "Choose the public username" in page.text
    r = choose_username(client, page, "Alice_W", "CCD photometry from Ondřejov")
    assert r.status_code == 303 and r.headers["location"] == "/services/api/observers/Alice_W"
    return client


def user_token(platform, client: httpx.Client, name: str) -> str:
    """An API token for the signed-in user, asked for with their hub cookie."""
    xsrf = next(c.value for c in client.cookies.jar if c.name == "_xsrf" and c.path == "/hub/")
    r = client.post(
        f"/hub/api/users/{name}/tokens", headers={"X-XSRFToken": xsrf}, json={"note": "test"}
    )
    assert r.status_code == 201, r.text
    return r.json()["token"]


def test_the_google_login_page_says_google(platform):
    login = httpx.get(platform["url"] + "/hub/login")
    assert login.status_code == 200 and "Sign in with Google" in login.text
    assert "Local demo sign-in" not in login.text and 'id="aphos-local-login"' not in login.text


def test_google_sign_in_and_username_on_first_sign_in(platform, alice):
    r = alice.get("/hub/api/user")  # the hub user name is Google's subject id, not the e-mail
    assert r.status_code == 200 and r.json()["name"] == "google-1001"
    profile = httpx.get(platform["url"] + "/services/api/observers/alice_w").json()
    assert profile["username"] == "Alice_W"
    assert profile["description"] == "CCD photometry from Ondřejov"
    # Signing in again goes straight to the workspace: the username is already chosen.
    again, landing = google_sign_in(platform["url"], "alice")
    assert landing.status_code == 200 and landing.url.path == "/hub/home"


def test_taken_username_refused_case_insensitively(platform, alice):
    client, page = google_sign_in(platform["url"], "bob")
    r = choose_username(client, page, "alice_w")
    assert r.status_code == 409 and "is taken" in r.text
    r = choose_username(client, r, "not valid!")
    assert r.status_code == 400 and "2-32 characters" in r.text
    assert choose_username(client, r, "Bob").status_code == 303


def test_unverified_email_refused(platform):
    _, r = google_sign_in(platform["url"], "carol")
    assert r.status_code == 403 and "not verified" in r.text


def test_unlisted_account_refused_listed_domain_admitted(platform):
    _, r = google_sign_in(platform["url"], "mallory")
    assert r.status_code == 403
    _, r = google_sign_in(platform["url"], "dave")
    assert r.status_code == 200 and r.url.path == "/services/api/profile"


def test_only_the_owner_edits_a_profile(platform, alice):
    url = platform["url"] + "/services/api/observers/Alice_W"
    bob, page = google_sign_in(platform["url"], "bob")
    if page.url.path == "/services/api/profile" and "Choose" in page.text:
        choose_username(bob, page, "Bob")
    bob_token = user_token(platform, bob, "google-1002")
    r = httpx.put(
        url, json={"description": "defaced"}, headers={"Authorization": f"token {bob_token}"}
    )
    assert r.status_code == 403
    assert httpx.put(url, json={"description": "anonymous"}).status_code == 401
    alice_token = user_token(platform, alice, "google-1001")
    r = httpx.put(
        url,
        json={"description": "Ondřejov, 0.65 m"},
        headers={"Authorization": f"token {alice_token}"},
    )
    assert r.status_code == 200 and r.json()["description"] == "Ondřejov, 0.65 m"
    assert httpx.get(url).json()["description"] == "Ondřejov, 0.65 m"


def test_public_profiles_show_uploads_without_sign_in(platform):
    with platform["catalogue"].connect("reader") as conn:
        name = conn.execute("SELECT username FROM observer ORDER BY id LIMIT 1").fetchone()[0]
    r = httpx.get(f"{platform['url']}/services/api/observers/{name}")
    assert r.status_code == 200
    uploads = r.json()["uploads"]
    assert uploads and uploads[0]["stored"] >= 1 and uploads[0]["fluxes"] > 0
    page = httpx.get(
        f"{platform['url']}/services/api/observers/{name}", headers={"Accept": "text/html"}
    )
    assert page.status_code == 200 and "id='uploads'" in page.text
    assert httpx.get(f"{platform['url']}/services/api/observers/nobody").status_code == 404


def test_dashboards_answer_without_sign_in(platform):
    r = httpx.get(platform["url"] + "/services/dashboards/", timeout=60)
    assert (r.status_code, r.headers["location"]) == (
        302,
        "/services/dashboards/voila/render/index.ipynb",
    )  # no file tree: the home page
    upload = platform["url"] + "/services/dashboards/voila/render/workspace/upload.ipynb"
    assert httpx.get(upload, timeout=60).status_code == 404  # only in the observer's server
    r = httpx.get(platform["url"] + "/services/dashboards/voila/render/index.ipynb", timeout=120)
    assert r.status_code == 200
    assert "fluxes" in r.text and "observers" in r.text  # the notebook ran against the reader


def test_the_rest_api_is_served_publicly_by_the_api_service(platform, alice):
    base = platform["url"] + "/services/api/api"
    catalogs = httpx.get(base + "/catalogs")
    assert catalogs.status_code == 200 and catalogs.json()[:3] == [
        "All catalogues",
        "UCAC4",
        "USNO-B1.0",
    ]
    assert httpx.get(base + "/users/current").json() is None  # nobody signed in
    me = alice.get("/services/api/api/users/current")  # her cookie from the sign-in
    assert me.status_code == 200 and me.json()["username"] == "Alice_W"
    docs = httpx.get(base + "/docs")
    assert docs.status_code == 200 and "/services/api/api/docs/static/" in docs.text
    missing = httpx.get(base + "/space-objects/search?spaceObjectId=000-000000")
    assert missing.status_code == 404 and set(missing.json()) == {"id", "message"}


def test_api_and_worker_healthy(platform):
    api = httpx.get(platform["url"] + "/services/api/health")
    assert api.status_code == 200 and api.json() == {
        "status": "ok",
        "service": "api",
        "database": "ok",
    }
    worker = httpx.get(platform["url"] + "/services/worker/health")
    assert worker.status_code == 200 and worker.json()["database"] == "ok"
    print(f"hub and services ready in {platform['ready']:.1f} s")


def test_publishing_a_notebook_for_everyone(platform, alice):
    url = platform["url"] + "/services/api/published"
    alice_headers = {"Authorization": f"token {user_token(platform, alice, 'google-1001')}"}
    notebook = nbformat.writes(
        nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_markdown_cell("GK Cep, night of 2021-11-06")]
        )
    )
    assert httpx.put(f"{url}/gk_cep.ipynb", content=notebook).status_code == 401
    r = httpx.put(f"{url}/gk_cep.ipynb", content=notebook, headers=alice_headers)
    assert r.status_code == 200
    assert r.json()["url"] == "/services/api/published/Alice_W/gk_cep.ipynb"
    assert httpx.put(f"{url}/bad.ipynb", content=b"{}", headers=alice_headers).status_code == 400
    listing = httpx.get(url).json()
    assert [(p["username"], p["name"]) for p in listing] == [("Alice_W", "gk_cep.ipynb")]
    assert "GK Cep" in httpx.get(f"{url}/Alice_W/gk_cep.ipynb").text
    bob, _ = google_sign_in(platform["url"], "bob")
    bob_headers = {"Authorization": f"token {user_token(platform, bob, 'google-1002')}"}
    # Bob can only withdraw his own notebooks: there is no gk_cep.ipynb of his.
    assert httpx.delete(f"{url}/gk_cep.ipynb", headers=bob_headers).status_code == 404
    assert httpx.get(f"{url}/Alice_W/gk_cep.ipynb").status_code == 200


WORKSPACE_CODE = """
import psycopg
from aphos_lib.db.catalogue import Catalogue
from aphos_lib.stats import catalogue_stats
cat = Catalogue.from_environment(start=False)
with cat.connect("reader") as conn:
    print("STATS", catalogue_stats(conn))
for sql in ["INSERT INTO observer (username) VALUES ('intruder')",
            "UPDATE catalog_object SET mag = 0", "DELETE FROM flux",
            "DELETE FROM image", "UPDATE upload SET state = 'x'",
            "DELETE FROM upload_file", "UPDATE observer SET description = 'x'"]:
    for role in ("reader", "writer"):
        with cat.connect(role) as conn:
            try:
                conn.execute("SET TRANSACTION READ WRITE")  # past the read-only default
                conn.execute(sql)
                print("WROTE", role, sql)
            except psycopg.Error as e:
                print("REFUSED", role, e.sqlstate)
import os
print("SHARED", sorted(os.listdir("shared-notebooks")))
print("PUBLISHED", sorted(os.listdir("published/Alice_W")))
"""


def test_workspace_reads_the_catalogue_and_cannot_write(platform, alice):
    url, name = platform["url"], "google-1001"
    token = user_token(platform, alice, name)
    headers = {"Authorization": f"token {token}"}
    r = httpx.post(f"{url}/hub/api/users/{name}/server", headers=headers, timeout=60)
    assert r.status_code in (201, 202), r.text
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        model = httpx.get(f"{url}/hub/api/users/{name}", headers=headers).json()
        if model["servers"].get("", {}).get("ready"):
            break
        time.sleep(1)
    else:
        pytest.fail(f"the workspace did not start:\n{platform['hub'].tail()}")
    try:
        out = execute(url, name, token, WORKSPACE_CODE)
        assert "STATS {'objects'" in out and "'images': 6" in out, out
        refusals = re.findall(r"REFUSED (\w+) (\w+)", out)
        assert "WROTE" not in out, out
        assert len(refusals) == 14 and {code for _, code in refusals} == {"42501"}, out
        assert "start_here.ipynb" in out and "PUBLISHED ['gk_cep.ipynb']" in out
        listing = httpx.get(f"{url}/user/{name}/api/contents/published/Alice_W", headers=headers)
        assert [f["name"] for f in listing.json()["content"]] == ["gk_cep.ipynb"]
        assert (platform["home"] / "users" / name).is_dir()
        # Sharing: bob reaches alice's workspace only once she shares it with him.
        bob, _ = google_sign_in(url, "bob")
        bob_headers = {"Authorization": f"token {user_token(platform, bob, 'google-1002')}"}
        contents = f"{url}/user/{name}/api/contents"
        assert httpx.get(contents, headers=bob_headers).status_code == 403
        r = httpx.post(
            f"{url}/hub/api/shares/{name}/", headers=headers, json={"user": "google-1002"}
        )
        assert r.status_code == 200, r.text
        # A new token: the workspace caches what it learnt of the first one for minutes.
        bob_headers = {"Authorization": f"token {user_token(platform, bob, 'google-1002')}"}
        assert httpx.get(contents, headers=bob_headers).status_code == 200
    finally:
        httpx.delete(f"{url}/hub/api/users/{name}/server", headers=headers, timeout=60)
