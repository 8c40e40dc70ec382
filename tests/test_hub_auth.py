"""The authenticators' own rules, without a hub (the sign-in flow itself is in test_hub.py)."""

from __future__ import annotations

import asyncio
import re
import unicodedata

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
    for flag in (
        {"verified_email": False},
        {"verified_email": None},
        {"email_verified": "false"},
        {},
    ):
        user_info = {"id": "7", "email": "eve@example.org", **flag}
        with pytest.raises(HTTPError) as refused:
            allowed(google(open_registration=True), user_info)
        assert refused.value.status_code == 403
    assert allowed(
        google(open_registration=True),
        {"sub": "8", "email": "oidc@example.org", "email_verified": True},
    )


def local_sign_in(name: str) -> dict | None:
    return asyncio.run(LocalDemoAuthenticator().authenticate(None, {"username": name}))


def test_local_sign_in_accepts_any_display_name_as_a_stable_hub_name():
    assert local_sign_in(" Novak ") == {"name": "local-novak"}  # a demo observer's own name
    assert local_sign_in("x") == {"name": "local-x"}
    jana = local_sign_in("Jana Nováková")["name"]
    assert re.fullmatch(r"local-jana-novakova-[0-9a-f]{8}", jana)
    # The same name again, decomposed accents, other case and spacing: the same hub user.
    for again in (
        "Jana Nováková",
        unicodedata.normalize("NFD", "Jana Nováková"),
        "  jana   NOVÁKOVÁ ",
    ):
        assert local_sign_in(again) == {"name": jana}
    # Names that differ only in their accents are different observers.
    assert local_sign_in("Jana Novakova")["name"] != jana
    for name in ("李明", "../etc", "<script>alert(1)</script>", "a" * 100, "O'Brien"):
        hub_user = local_sign_in(name)["name"]
        assert re.fullmatch(r"local-[a-z0-9][a-z0-9-]{0,40}", hub_user), (name, hub_user)


def test_local_sign_in_refuses_only_empty_or_overlong_names_with_a_reason():
    for name, reason in (
        ("", "Type a name"),
        ("   ", "Type a name"),
        ("a" * 101, "limited to 100 characters"),
    ):
        with pytest.raises(HTTPError) as refused:
            local_sign_in(name)
        assert refused.value.status_code == 400 and reason in refused.value.log_message
