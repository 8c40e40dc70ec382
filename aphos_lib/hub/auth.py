"""Sign-in: Google for production, a local login without any account for the demo.

Both give the hub a user name built from a stable subject (:mod:`aphos_lib.web.identity`);
the public username is chosen afterwards, on the profile page of the api service.
"""

from __future__ import annotations

from jupyterhub.auth import Authenticator
from oauthenticator.google import GoogleOAuthenticator
from tornado.web import HTTPError
from traitlets import Bool, Set

from aphos_lib.web.identity import hub_name, local_subject

__all__ = ["AphosGoogleOAuthenticator", "LocalDemoAuthenticator", "google_subject"]


def google_subject(user_info: dict) -> str:
    """Google's stable subject id: userinfo's ``id``, or ``sub`` from the id token / OIDC."""
    subject = user_info.get("id") or user_info.get("sub")
    if not subject:
        raise HTTPError(403, "Google did not say who signed in (no 'id' or 'sub')")
    return str(subject)


def _email_verified(user_info: dict) -> bool:
    # Google's v1 userinfo says verified_email, its OIDC userinfo email_verified.
    value = user_info.get("verified_email", user_info.get("email_verified", False))
    return value is True or str(value).lower() == "true"


class AphosGoogleOAuthenticator(GoogleOAuthenticator):
    """Google sign-in keyed on the subject id, with a verified e-mail and an allow rule.

    The e-mail address only decides admission (``allowed_emails``, ``allowed_email_domains``
    or ``open_registration``); it is never the identity, which is Google's subject id.
    ``allow_all`` is never used because it would skip the verified-email check.
    """

    allowed_email_domains = Set(
        help="Admit verified e-mail addresses in these domains (lower case).",
    ).tag(config=True)
    allowed_emails = Set(help="Admit these verified e-mail addresses (lower case).").tag(
        config=True
    )
    open_registration = Bool(
        False, help="Admit any Google account whose e-mail address is verified."
    ).tag(config=True)

    def user_info_to_username(self, user_info: dict) -> str:
        email = (user_info.get("email") or "").lower()
        user_info["domain"] = email.rpartition("@")[2]
        return hub_name("google", google_subject(user_info))

    async def check_allowed(self, username: str, auth_model: dict | None) -> bool:
        if auth_model is None:  # the hub re-checks existing users at start-up
            return True
        user_info = auth_model["auth_state"][self.user_auth_state_key]
        email = (user_info.get("email") or "").lower()
        if not _email_verified(user_info):
            self.log.warning("refused %s: e-mail %s is not verified", username, email)
            raise HTTPError(403, "Sign-in refused: your Google e-mail address is not verified")
        if self.open_registration or email in self.allowed_emails:
            return True
        if user_info.get("domain") in self.allowed_email_domains:
            return True
        user_info.setdefault("verified_email", True)  # the parent checks the v1 spelling
        return await super().check_allowed(username, auth_model)


class LocalDemoAuthenticator(Authenticator):
    """The demo's local sign-in: any display name, no password, no Google account.

    "Jana Nováková" signs in as ``local-jana-novakova-<hash>``: the hub name is derived from
    the display name (:func:`aphos_lib.web.identity.local_subject`), the same name always gives
    the same hub user, and the public username is chosen afterwards on the profile page. For
    one machine only; the login page says so (``aphos_lib/hub/templates/local/login.html``).
    """

    async def authenticate(self, handler, data: dict) -> dict | None:
        try:
            subject = local_subject(data.get("username") or "")
        except ValueError as e:
            # An HTTPError's message is shown on the login form in place of the hub's
            # "Invalid username or password", which would be wrong here: there is no password.
            raise HTTPError(400, str(e).capitalize()) from e
        return {"name": hub_name("local", subject)}
