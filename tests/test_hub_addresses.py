"""The platform's addresses on a real hub with the local demo sign-in, as ``make demo`` runs it.

Every address README.md and the platform pages of docs/ give opens (none answers 404 or 500);
the start message names the home page and comes only once the sign-in page answers; the local
login says it is local and takes any display name; the upload entry asks for a username before
the upload page.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from aphos_lib.demo.load import load_demo
from aphos_lib.web.identity import hub_name, local_subject
from aphos_lib.web.pages import UPLOAD_PAGE

from conftest import make_home
from hub_harness import RunningHub, free_port_block, xsrf_headers

pytestmark = [pytest.mark.hub, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# The README and the pages of docs/ its platform addresses moved to: every address opens.
ADDRESS_PAGES = (
    README,
    *(ROOT / "docs" / name for name in ("platform.md", "uploads.md", "api.md")),
)
STARTING, READY = "APhoS is starting", "APhoS is ready"
# Addresses in those pages: full URLs of `make demo`, and absolute platform paths in backticks
# (with the method when one is written before them).
URL = re.compile(r"http://127\.0\.0\.1:8000(/[^\s`>)\"]*)?")
PATH = re.compile(r"`(?:(GET|PUT|POST|DELETE) )?(/(?:services|hub|user)/[^`\s]*)`")


@pytest.fixture(scope="module")
def platform(embedded_server) -> Iterator[dict]:
    home = make_home("aphos-hub-addresses-")
    catalogue, dbname = embedded_server.clone()
    hub = None
    try:
        assert load_demo(catalogue, images=6, directory=home / "demo") == 0
        env = {  # no Google client: the local demo sign-in, as `make demo` has it
            "APHOS_HOME": str(home),
            "APHOS_PORT": str(free_port_block()),
            "APHOS_DATABASE_URL": catalogue.conninfo("owner"),
            "APHOS_DATABASE_URL_WRITER": catalogue.conninfo("writer"),
            "APHOS_DATABASE_URL_READER": catalogue.conninfo("reader"),
        }
        hub = RunningHub(env, home / "hub.log")
        started = time.monotonic()
        # Watch the start message as a reader of the terminal would, and open the sign-in
        # page the moment the addresses are printed.
        while READY not in hub.log.read_text(errors="replace"):
            assert hub.process.poll() is None, hub.tail()
            assert time.monotonic() - started < 180, hub.tail()
            time.sleep(0.05)
        login_at_ready = httpx.get(hub.url + "/hub/login", timeout=10).status_code
        ready_after = time.monotonic() - started
        hub.wait_ready()
        yield {
            "hub": hub,
            "url": hub.url,
            "catalogue": catalogue,
            "home": home,
            "login_at_ready": login_at_ready,
            "ready_after": ready_after,
        }
    finally:
        if hub is not None:
            hub.interrupt()
        catalogue.dispose()
        embedded_server.drop(dbname)
        shutil.rmtree(home, ignore_errors=True)


def local_sign_in(url: str, name: str) -> tuple[httpx.Client, httpx.Response]:
    """Sign in on the local login page as ``name``; the client and the page it lands on."""
    client = httpx.Client(base_url=url, timeout=60, follow_redirects=True)
    login = client.get("/hub/login")
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', login.text).group(1)
    return client, client.post("/hub/login", data={"_xsrf": xsrf, "username": name})


def choose_username(
    client: httpx.Client, page: httpx.Response, username: str, **fields: str
) -> httpx.Response:
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
    return client.post(
        "/services/api/profile",
        follow_redirects=False,
        data={"_xsrf": xsrf, "username": username, **fields},
    )


def test_the_start_message_names_the_home_page_once_the_hub_answers(platform):
    log = platform["hub"].log.read_text(errors="replace")
    assert log.index(STARTING) < log.index(READY)
    ready = next(line for line in log.splitlines() if READY in line)
    assert f"{platform['url']}/services/dashboards/ " in ready  # the home page, first
    assert f"{platform['url']}/hub/login" in ready and "local demo sign-in" in ready
    assert platform["login_at_ready"] == 200
    print(f"'{READY}' printed {platform['ready_after']:.1f} s after the start")


def test_the_local_login_says_it_is_local_and_takes_any_name(platform):
    url = platform["url"]
    login = httpx.get(url + "/hub/login")
    text = " ".join(login.text.split())
    assert login.status_code == 200 and "Local demo sign-in" in text
    assert "no Google account and no password" in text and "Type any name" in text
    assert "Sign in with Google" not in text and "Password" not in text
    client, landing = local_sign_in(url, "Jana Nováková")
    assert landing.status_code == 200 and landing.url.path == "/services/api/profile"
    assert "Choose the public username" in landing.text
    name = client.get("/hub/api/user", headers=xsrf_headers(client)).json()["name"]
    assert name == hub_name("local", local_subject("Jana Nováková"))
    assert re.fullmatch(r"local-jana-novakova-[0-9a-f]{8}", name)
    again, _ = local_sign_in(url, "  jana NOVÁKOVÁ ")
    assert again.get("/hub/api/user", headers=xsrf_headers(again)).json()["name"] == name
    # Refused only without a name, saying why; what was typed comes back escaped.
    _, empty = local_sign_in(url, "   ")
    assert empty.status_code == 400 and "Type a name to sign in" in empty.text
    assert "Invalid username or password" not in empty.text
    _, long = local_sign_in(url, '"><script>alert(1)</script>' + "x" * 100)
    assert long.status_code == 400 and "limited to 100 characters" in long.text
    assert "<script>alert(1)" not in long.text and "&lt;script&gt;alert(1)" in long.text


def test_a_visitor_at_the_root_gets_the_public_home_page(platform):
    url = platform["url"]
    home = httpx.get(url + "/", follow_redirects=True, timeout=120)
    assert home.status_code == 200
    assert home.url.path == "/services/dashboards/voila/render/index.ipynb"
    # Signed in, the root leads to the observer's welcome (their profile the first time).
    client, _ = local_sign_in(url, "Root Visitor")
    assert client.get("/").url.path == "/services/api/profile"


def test_the_upload_entry_asks_for_a_username_first_with_a_way_back(platform):
    url = platform["url"]
    anonymous = httpx.get(url + "/services/api/upload", follow_redirects=True)
    assert anonymous.status_code == 200 and anonymous.url.path == "/hub/login"
    client, _ = local_sign_in(url, "Petr Dvořák")
    page = client.get("/services/api/upload")
    assert page.status_code == 200 and page.url.path == "/services/api/profile"
    assert page.url.query == b"next=upload"
    assert "Before you upload photometry, choose the public username" in page.text
    back = re.search(r'<a id="profile-back" href="([^"]+)"', page.text).group(1)
    assert back == "/services/dashboards/"
    assert '<input type="hidden" name="next" value="upload">' in page.text
    # A name that breaks the rules: the form again, still on its way to the upload page.
    refused = choose_username(client, page, "1 bad", next="upload")
    assert refused.status_code == 400 and 'name="next" value="upload"' in refused.text
    saved = choose_username(client, refused, "PetrD", next="upload")
    assert (saved.status_code, saved.headers["location"]) == (303, UPLOAD_PAGE)
    # With a username the entry leads straight on; the hub starts the observer's server
    # (its progress page) and then opens the upload page in it.
    direct = client.get("/services/api/upload", follow_redirects=False)
    assert (direct.status_code, direct.headers["location"]) == (302, UPLOAD_PAGE)
    name = client.get("/hub/api/user", headers=xsrf_headers(client)).json()["name"]
    try:
        starting = client.get(UPLOAD_PAGE)
        assert starting.status_code == 200, starting.text[-2000:]
        wait_until_ready(client, name)
        upload = client.get("/services/api/upload", timeout=120)
        assert upload.status_code == 200, upload.text[-2000:]
        assert upload.url.path == f"/user/{name}/voila/render/dashboards/upload.ipynb"
        assert "Upload photometry" in upload.text and "Traceback" not in upload.text
    finally:
        client.delete(f"/hub/api/users/{name}/server", headers=xsrf_headers(client))
    # The profile shows the upload log; `next` never leads anywhere but a known page.
    profile = client.get("/services/api/profile")
    assert "<h2>Your upload log</h2>" in profile.text and "not uploaded anything" in profile.text
    elsewhere = choose_username(client, profile, "PetrD", next="https://elsewhere.example/")
    assert elsewhere.headers["location"] == "/services/api/observers/PetrD"


def documented_addresses(
    substitutions: dict[str, str], pages: tuple[Path, ...] = ADDRESS_PAGES
) -> list[tuple[str, str]]:
    """``(method, path)`` of every platform address in ``pages``, placeholders filled in."""
    text = "\n".join(page.read_text() for page in pages)
    for placeholder, value in substitutions.items():
        text = re.sub(placeholder, value, text)
    found = [("GET", m.group(1) or "/") for m in URL.finditer(text)]
    found += [(m.group(1) or "GET", m.group(2)) for m in PATH.finditer(text)]
    return sorted(set(found))


def start_server(client: httpx.Client, name: str) -> None:
    r = client.post(f"/hub/api/users/{name}/server", headers=xsrf_headers(client))
    assert r.status_code in (201, 202), r.text
    wait_until_ready(client, name)


def wait_until_ready(client: httpx.Client, name: str) -> None:
    deadline = time.monotonic() + 120
    while (
        not client.get(f"/hub/api/users/{name}", headers=xsrf_headers(client))
        .json()["servers"]
        .get("", {})
        .get("ready")
    ):
        assert time.monotonic() < deadline, "the workspace did not start"
        time.sleep(1)


KERNEL_ID = re.compile(r'"kernelId": "([0-9a-f-]{36})"')


def close_dashboard(url: str, response: httpx.Response) -> None:
    """Shut a public dashboard's kernel down as its page does when its tab closes: one
    visitor opening every page of the README in turn holds one kernel at a time, as a
    browser does, not one per page until they are culled (the service refuses a client more
    than its share: aphos_lib.hub.voila_limits)."""
    found = KERNEL_ID.search(response.text)
    if found and "/services/dashboards/" in str(response.url):
        httpx.post(f"{url}/services/dashboards/voila/api/shutdown/{found.group(1)}", timeout=30)


def test_every_address_in_the_readme_opens(platform):
    url = platform["url"]
    # novak, a demo observer: their uploads, their profile, their workspace.
    client, page = local_sign_in(url, "novak")
    if page.url.path == "/services/api/profile" and "Choose" in page.text:
        choose_username(client, page, "novak")
    with platform["catalogue"].connect("reader") as conn:
        upload = conn.execute(
            "SELECT u.id FROM upload u JOIN observer o ON o.id = u.observer_id"
            " WHERE o.username = 'novak' LIMIT 1"
        ).fetchone()[0]
    substitutions = {
        "<hub user>": "local-novak",
        "<username>": "novak",
        r"\bNAME\b": "novak",
        "<upload_id>": str(upload),
    }
    addresses = documented_addresses(substitutions)
    paths = {path for _, path in documented_addresses(substitutions, (README,))}
    for expected in (
        "/services/dashboards/",
        "/hub/login",
        "/services/api/upload",
        "/services/api/profile",
        "/user/local-novak/voila/render/dashboards/upload.ipynb",
        f"/services/api/api/v2/uploads/{upload}",
    ):
        assert expected in paths, f"README.md no longer gives {expected}"
    start_server(client, "local-novak")
    failures = []
    try:
        for method, path in addresses:
            if method != "GET":  # a write: the route must exist (anonymous: 401/403)
                r = httpx.request(method, url + path, timeout=60)
                if r.status_code in (404, 405) or r.status_code >= 500:
                    failures.append(f"{method} {path}: {r.status_code}")
                continue
            anonymous = httpx.get(url + path, follow_redirects=True, timeout=120)
            if anonymous.status_code == 404 or anonymous.status_code >= 500:
                failures.append(f"GET {path} (anonymous): {anonymous.status_code}")
            close_dashboard(url, anonymous)
            r = client.get(path, timeout=120)
            if r.status_code != 200:
                failures.append(f"GET {path} (signed in): {r.status_code} at {r.url}")
            elif "There was an error when executing cell" in r.text or "Traceback" in r.text:
                failures.append(f"GET {path}: a page that failed")
            close_dashboard(url, r)
        print(f"{len(addresses)} addresses from README.md and docs/ opened")
    finally:
        client.delete("/hub/api/users/local-novak/server", headers=xsrf_headers(client))
    assert not failures, "\n".join(failures)


def test_no_file_list_and_no_upload_page_in_the_public_dashboards(platform):
    url = platform["url"]
    for root in ("/services/dashboards/", "/services/dashboards"):
        r = httpx.get(url + root)
        assert (r.status_code, r.headers["location"]) == (
            302,
            "/services/dashboards/voila/render/index.ipynb",
        ), root
    for listing in (
        "voila/tree",
        "voila/tree/workspace",
        "voila/render/",
        "voila/api/contents",
        "voila/render/workspace/upload.ipynb",
        "voila/render/upload.ipynb",
    ):
        assert httpx.get(f"{url}/services/dashboards/{listing}").status_code == 404, listing


def assert_site_header(page, *, signed_in: bool) -> None:
    """The site's header (aphos_lib/theme.py) on a hub or api page, and nothing wider than
    the window."""
    header = page.locator("header.aphos-header")
    assert header.count() == 1 and header.locator(".aphos-brand").inner_text().startswith("APhoS")
    labels = header.locator(".aphos-nav a").all_inner_texts()
    assert labels[:5] == ["Search", "Find variables", "My profile", "Upload", "API docs"]
    account = header.locator(".aphos-account a")
    assert account.inner_text() == ("Sign out" if signed_in else "Sign in")
    assert account.get_attribute("href") == ("/hub/logout" if signed_in else "/hub/login")
    search = header.locator(".aphos-nav-search").get_attribute("href")
    assert search == "/services/dashboards/voila/render/search.ipynb"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280


@pytest.mark.browser
def test_sign_in_and_username_first_pages_in_chromium(platform):
    from playwright.sync_api import sync_playwright

    from browser.browser_harness import screenshot
    from browser.conftest import CHROMIUM, CHROMIUM_ARGS

    url = platform["url"]
    # Playwright's loop only inside this test: later tests call asyncio.run (browser/conftest).
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = chromium.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(60_000)
            page.goto(url + "/hub/login")
            assert page.locator("h1").inner_text() == "Local demo sign-in"
            assert_site_header(page, signed_in=False)
            page.fill("#username_input", "Zoë Müller")
            screenshot(page, "hub-login-local")
            page.click("#login_submit")
            page.wait_for_url("**/services/api/profile")
            assert "Choose the public username" in page.locator("#profile-intro").inner_text()
            assert_site_header(page, signed_in=True)
            page.goto(url + "/services/api/upload")
            page.wait_for_url("**/services/api/profile?next=upload")
            screenshot(page, "profile-before-upload")
            page.goto(url + "/hub/home")  # the hub's own page, in the site's look
            assert_site_header(page, signed_in=True)
            screenshot(page, "hub-home")
            page.goto(url + "/services/api/profile?next=upload")
            page.click("#profile-back")
            page.wait_for_selector(".aphos-home .aphos-stats")  # the home page, rendered
            assert urlsplit(page.url).path == "/services/dashboards/voila/render/index.ipynb"
        finally:
            chromium.close()
