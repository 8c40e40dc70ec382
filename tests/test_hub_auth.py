"""The authenticators' own rules, without a hub (the sign-in flow itself is in test_hub.py)."""

from __future__ import annotations

import asyncio

import pytest
from tornado.web import HTTPError

from aphos_lib.hub.auth import AphosGoogleOAuthenticator, LocalDemoAuthenticator


def google(**config) -> AphosGoogleOAuthenticator:
    return AphosGoogleOAuthenticator(client_id="id", client_secret="secret", **config)


def auth_model(authenticator, user_info: dict) -> tuple[str, dict]:
    name = authenticator.user_info_to_username(user_info)
    return name, {"name": name, "auth_state": {"google_user": user_info}, "admin": None}


def allowed(authenticator, user_info: dict) -> bool:
    return asyncio.run(authenticator.check_allowed(*auth_model(authenticator, user_info)))


ALICE = {"id": "1001", "email": "Alice@Example.org", "verified_email": True}


def test_the_hub_name_is_the_subject_id_or_sub_never_the_email():
    a = google(open_registration=True)
    assert a.user_info_to_username(dict(ALICE)) == "google-1001"
    assert a.user_info_to_username({"sub": "42", "email": "x@y.org"}) == "google-42"
    with pytest.raises(HTTPError):
        a.user_info_to_username({"email": "x@y.org", "verified_email": True})


def test_allow_rules():
    assert allowed(google(allowed_emails={"alice@example.org"}), dict(ALICE))
    assert allowed(google(allowed_email_domains={"example.org"}), dict(ALICE))
    assert allowed(google(open_registration=True), dict(ALICE))
    assert not allowed(google(allowed_email_domains={"other.org"}), dict(ALICE))
    # An explicit hub user list still works (the e-mail is not involved there).
    assert allowed(google(allowed_users={"google-1001"}), dict(ALICE))


def test_an_unverified_email_is_refused_even_with_open_registration():
    for flag in ({"verified_email": False}, {"verified_email": None}, {"email_verified": "false"},
                 {}):  # fmt: skip
        user_info = {"id": "7", "email": "eve@example.org", **flag}
        with pytest.raises(HTTPError) as refused:
            allowed(google(open_registration=True), user_info)
        assert refused.value.status_code == 403
    assert allowed(google(open_registration=True),
                   {"sub": "8", "email": "oidc@example.org", "email_verified": True})  # fmt: skip


def test_local_sign_in_accepts_valid_names_only():
    local = LocalDemoAuthenticator()
    assert asyncio.run(local.authenticate(None, {"username": " Novak "})) == {"name": "local-novak"}
    assert asyncio.run(local.authenticate(None, {"username": "x"})) is None
    assert asyncio.run(local.authenticate(None, {"username": "../etc"})) is None
