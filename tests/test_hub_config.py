"""The hub configuration, one concern at a time, on a plain traitlets Config (no hub runs)."""

from __future__ import annotations

import re
import runpy
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from traitlets.config import Config

from aphos_lib.db.catalogue import Catalogue
from aphos_lib.hub import configurer
from aphos_lib.hub.settings import HUB_CONFIG, HubSettings, SettingsError
from aphos_lib.web.identity import hub_name, parse_hub_name

REPO = Path(__file__).resolve().parents[1]
GOOGLE = {
    "APHOS_GOOGLE_CLIENT_ID": "client-id",
    "APHOS_GOOGLE_CLIENT_SECRET": "client-secret",
    "APHOS_GOOGLE_ALLOWED_DOMAINS": "Example.org",
}


def settings(tmp_path, **env) -> HubSettings:
    return HubSettings.from_environment({"APHOS_HOME": str(tmp_path), **env})


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue.external(
        "postgresql://owner:o@db.example.org/aphos",
        writer_url="postgresql://aphos_writer:w@db.example.org/aphos",
        reader_url="postgresql://aphos_reader:r@db.example.org/aphos",
    )


def test_settings_default_to_the_local_demo(tmp_path):
    s = settings(tmp_path)
    assert (s.auth, s.ip, s.port, s.public_url) == (
        "local",
        "127.0.0.1",
        8000,
        "http://127.0.0.1:8000",
    )
    assert [s.internal_port(n) for n in ("proxy_api", "hub", "api", "worker", "dashboards")] == [
        8001,
        8002,
        8003,
        8004,
        8005,
    ]
    assert s.hub_db_url == f"sqlite:///{tmp_path / 'hub' / 'jupyterhub.sqlite'}"


def test_google_needs_credentials_and_an_allow_rule(tmp_path):
    with pytest.raises(SettingsError, match="CLIENT_SECRET"):
        settings(tmp_path, APHOS_AUTH="google", APHOS_GOOGLE_CLIENT_ID="x")
    with pytest.raises(SettingsError, match="allow rule"):
        settings(tmp_path, APHOS_GOOGLE_CLIENT_ID="x", APHOS_GOOGLE_CLIENT_SECRET="y")
    assert settings(tmp_path, **GOOGLE).auth == "google"  # a client id selects Google
    assert settings(
        tmp_path, **{**GOOGLE, "APHOS_GOOGLE_ALLOWED_DOMAINS": "", "APHOS_OPEN_REGISTRATION": "1"}
    ).open_registration


def test_client_secret_from_a_file_outside_the_repository(tmp_path):
    secret = tmp_path / "google-secret"
    secret.write_text("from-file\n")
    env = {
        **GOOGLE,
        "APHOS_GOOGLE_CLIENT_SECRET": "",
        "APHOS_GOOGLE_CLIENT_SECRET_FILE": str(secret),
    }
    assert settings(tmp_path, **env).google_client_secret == "from-file"
    with pytest.raises(SettingsError, match="CLIENT_SECRET_FILE"):
        settings(tmp_path, **{**env, "APHOS_GOOGLE_CLIENT_SECRET_FILE": str(tmp_path / "no")})


def test_update_auth_google(tmp_path):
    c = Config()
    configurer.update_auth(c, settings(tmp_path, **GOOGLE, APHOS_GOOGLE_ALLOWED_EMAILS="A@x.org"))
    assert c.JupyterHub.authenticator_class == "aphos_lib.hub.auth.AphosGoogleOAuthenticator"
    a = c.AphosGoogleOAuthenticator
    assert (a.client_id, a.client_secret) == ("client-id", "client-secret")
    assert a.allowed_email_domains == {"example.org"} and a.allowed_emails == {"a@x.org"}
    assert a.allow_all is False and a.open_registration is False
    assert a.oauth_callback_url == "http://127.0.0.1:8000/hub/oauth_callback"
    assert "token_url" not in a  # Google's own endpoints unless a stand-in is named


def test_update_auth_local_is_marked_local(tmp_path):
    c = Config()
    configurer.update_auth(c, settings(tmp_path))
    configurer.update_templates(c, settings(tmp_path))
    assert c.JupyterHub.authenticator_class == "aphos_lib.hub.auth.LocalDemoAuthenticator"
    login = Path(c.JupyterHub.template_paths[0]) / "login.html"
    text = " ".join(login.read_text().split())
    assert "Local demo sign-in" in text and "no Google account and no password" in text


def test_update_auth_google_keeps_the_hub_login_page(tmp_path):
    c = Config()
    configurer.update_auth(c, settings(tmp_path, **GOOGLE))
    configurer.update_templates(c, settings(tmp_path, **GOOGLE))
    # The hub's own page ("Sign in with Google"), not the local one; the site's look on both.
    paths = [Path(p) for p in c.JupyterHub.template_paths]
    assert not any((p / "login.html").exists() for p in paths)
    assert any((p / "page.html").exists() for p in paths)


def test_hub_pages_get_the_site_header_and_stylesheet(tmp_path):
    c = Config()
    configurer.update_templates(c, settings(tmp_path))
    variables = c.JupyterHub.template_vars
    assert "aphos-theme" in variables["aphos_style"]
    header = variables["aphos_header"]
    assert ">Sign in</a>" in header(None) and ">Sign out</a>" not in header(None)
    assert ">Sign out</a>" in header(object()) and 'href="/hub/home"' in header(object())
    page = (configurer.TEMPLATES / "page.html").read_text()
    assert "aphos_style | safe" in page and "aphos_header | safe" in page


def test_update_network(tmp_path):
    c = Config()
    configurer.update_network(c, settings(tmp_path, APHOS_PORT="9100"))
    assert c.JupyterHub.bind_url == "http://127.0.0.1:9100/"
    assert c.JupyterHub.hub_port == 9102
    assert c.ConfigurableHTTPProxy.api_url == "http://127.0.0.1:9101"
    assert c.ConfigurableHTTPProxy.command[0].endswith("node_modules/.bin/configurable-http-proxy")
    # The proxy gives up on a silent service after 120 s, long after the api's 15 s timeout.
    assert c.ConfigurableHTTPProxy.command[1:] == ["--proxy-timeout=120000"]
    assert c.JupyterHub.cookie_secret_file.startswith(str(tmp_path))
    assert c.JupyterHub.default_url is configurer.arrival_url  # visitors home, observers welcome


def test_update_spawner_gives_workspaces_the_reader_only(tmp_path, catalogue):
    c = Config()
    configurer.update_spawner(c, settings(tmp_path), catalogue)
    assert c.JupyterHub.spawner_class == "aphos_lib.hub.spawner.WorkspaceSpawner"
    assert c.WorkspaceSpawner.home_dir_template == f"{tmp_path}/users/{{username}}"
    env = c.Spawner.environment
    assert env["APHOS_DATABASE_URL"].startswith("postgresql://aphos_reader:")
    assert env["APHOS_DATABASE_URL_WRITER"] == env["APHOS_DATABASE_URL"]
    assert not any("owner" in v or "aphos_writer" in v for v in env.values())
    assert c.Spawner.default_url == "/lab"
    assert any("cull_idle_timeout" in a for a in c.Spawner.args)


def test_update_services_roles_and_database_logins(tmp_path, catalogue):
    c = Config()
    s = settings(tmp_path, APHOS_PORT="9100")
    configurer.update_services(c, s, catalogue)
    services = {svc["name"]: svc for svc in c.JupyterHub.services}
    assert set(services) == {"api", "worker", "dashboards"}
    assert services["api"]["url"] == "http://127.0.0.1:9103"
    # Every service listens on loopback only: the api and worker bind the host of their url.
    assert {urlsplit(svc["url"]).hostname for svc in services.values()} == {"127.0.0.1"}
    for name, login in (
        ("api", "aphos_writer"),
        ("worker", "aphos_writer"),
        ("dashboards", "aphos_reader"),
    ):
        assert services[name]["environment"]["APHOS_DATABASE_URL"].startswith(
            f"postgresql://{login}:"
        )
    voila = services["dashboards"]["command"]
    assert "--MappingKernelManager.cull_connected=True" in voila
    # Kernels talk over Unix sockets: a pool starting at once cannot race for TCP ports.
    assert "--KernelManager.transport=ipc" in voila
    assert "--Voila.base_url=/services/dashboards/" in voila
    assert "--Voila.ip=127.0.0.1" in voila
    configurer.update_roles(c, s)
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert roles["aphos-api"]["services"] == ["api"]
    assert roles["aphos-worker"]["services"] == ["worker"]
    assert roles["aphos-dashboards"]["services"] == ["dashboards"]
    assert "access:services" in roles["user"]["scopes"] and "shares!user" in roles["user"]["scopes"]


def test_update_limits(tmp_path):
    c = Config()
    configurer.update_limits(c, settings(tmp_path, APHOS_ACTIVE_SERVER_LIMIT="20"))
    assert c.JupyterHub.active_server_limit == 20 and c.JupyterHub.concurrent_spawn_limit == 10
    assert c.JupyterHub.cleanup_servers is True


def test_config_file_applies_everything_and_site_overrides(tmp_path, monkeypatch, catalogue):
    monkeypatch.setenv("APHOS_HOME", str(tmp_path))
    monkeypatch.setattr(Catalogue, "from_environment", classmethod(lambda cls: catalogue))
    overrides = REPO / "hub_config" / "jupyterhub_config.d"
    c = Config()
    loaded = []
    runpy.run_path(
        str(HUB_CONFIG),
        init_globals={"get_config": lambda: c, "load_subconfig": loaded.append},
    )
    assert c.JupyterHub.authenticator_class.endswith("LocalDemoAuthenticator")
    assert len(c.JupyterHub.services) == 3
    assert (tmp_path / "hub").is_dir()
    assert loaded == [str(p) for p in sorted(overrides.glob("*.py"))]
    # The checkout's file, which `jupyterhub -f` and the k8s image name, loads the package's.
    shim = []
    runpy.run_path(
        str(REPO / "hub_config" / "jupyterhub_config.py"),
        init_globals={"load_subconfig": shim.append},
    )
    assert shim == [str(HUB_CONFIG)] and HUB_CONFIG.is_relative_to(REPO / "aphos_lib")


def test_hub_names_come_from_the_subject_never_the_email():
    assert hub_name("google", "1082345") == "google-1082345"
    assert parse_hub_name("google-1082345") == ("google", "1082345")
    assert parse_hub_name(hub_name("local", "Novak")) == ("local", "novak")
    with pytest.raises(ValueError):
        hub_name("google", "a b")
    with pytest.raises(ValueError):
        parse_hub_name("admin")


def test_site_overrides_win_when_jupyterhub_loads_the_file(tmp_path, monkeypatch):
    from traitlets.config.loader import PyFileConfigLoader

    site = tmp_path / "site"
    site.mkdir()
    (site / "50-limits.py").write_text("c.JupyterHub.active_server_limit = 7\n")
    monkeypatch.setenv("APHOS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("APHOS_DATABASE_URL", "postgresql://owner@db.example.org/aphos")
    monkeypatch.setenv("APHOS_HUB_OVERRIDES", str(site))
    checkout = str(REPO / "hub_config")
    c = PyFileConfigLoader("jupyterhub_config.py", path=checkout).load_config()
    assert c.JupyterHub.active_server_limit == 7
    assert c.JupyterHub.authenticator_class.endswith("LocalDemoAuthenticator")


def test_workspace_accounts_are_bounded_distinct_and_never_a_service():
    from aphos_lib.accounts import SERVICE_ACCOUNTS, workspace_account

    assert workspace_account("google-1001") == "aphos-google-1001"
    names = [
        "google-108234567890123456789",
        "google-108234567890123456788",
        "api",
        "pg",
        "Alice B",
        "alice-b",
        "local-" + "x" * 60,
        "...",
    ]
    accounts = [workspace_account(n) for n in names]
    assert len(set(accounts)) == len(names)
    assert all(a.startswith("aphos-") and len(a) <= 32 for a in accounts), accounts
    assert not set(accounts) & {*SERVICE_ACCOUNTS.values(), "aphos-pg", "aphos-writer"}
    assert all(re.fullmatch(r"[a-z0-9_-]+", a) for a in accounts), accounts


def test_services_run_as_their_own_accounts_when_root(tmp_path, catalogue):
    from aphos_lib.accounts import SERVICE_ACCOUNTS, isolated

    c = Config()
    configurer.update_services(c, settings(tmp_path), catalogue)
    for svc in c.JupyterHub.services:
        if isolated():  # CI runs as root
            assert svc["user"] == SERVICE_ACCOUNTS[svc["name"]]
            assert svc["command"][:2] == ["/usr/bin/env", f"HOME={tmp_path}/services/{svc['name']}"]
        else:
            assert "user" not in svc and svc["command"][0] != "/usr/bin/env"


def test_a_hub_run_as_its_own_account_leaves_services_to_the_launcher(
    tmp_path, catalogue, monkeypatch
):
    """The hub holds no service's command line or database login: it runs the runner client,
    and the launcher (root) computes both (tests/test_hub_launcher.py)."""
    from aphos_lib import accounts

    monkeypatch.setattr(accounts, "launcher_socket", lambda: "/srv/aphos/launcher/hub.sock")
    c = Config()
    s = settings(tmp_path)
    configurer.update_services(c, s, catalogue)
    for svc in c.JupyterHub.services:
        assert "user" not in svc
        assert svc["command"][1:] == ["-m", "aphos_lib.hub.as_account", "service", svc["name"]]
        assert svc["environment"] == {accounts.LAUNCHER_ENV: "/srv/aphos/launcher/hub.sock"}
    configurer.prepare_directories(s)  # done by aphos_lib.hub.run, as root, before the hub
    assert not (tmp_path / "users").exists()


def test_embedded_logins_by_account():
    from aphos_lib.db.access import pg_hba, pg_ident

    rules = [line.split() for line in pg_hba().splitlines() if line and line[0] != "#"]
    # Only the reader may log in with a password, or over TCP.
    assert [r[2] for r in rules if r[-1] == "scram-sha-256"] == ["aphos_reader"] * 3
    assert all(r[0] == "local" for r in rules if r[2] != "aphos_reader")
    ident = [line.split() for line in pg_ident("aphos-pg").splitlines() if line[0] != "#"]
    admin = {(a, r) for m, a, r in ident if m == "aphos_admin"}
    writer = {a for m, a, r in ident if m == "aphos_writer" and r == "aphos_writer"}
    assert admin == {(a, r) for a in ("aphos-pg", "root") for r in ("postgres", "aphos_owner")}
    assert writer == {"aphos-pg", "root", "aphos-api", "aphos-worker"}
