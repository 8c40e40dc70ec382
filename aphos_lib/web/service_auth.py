"""Hub sign-in for a FastAPI service: hub tokens and the OAuth cookie.

A request is an observer's when it carries their hub token, either in an ``Authorization:
token ...`` (or ``Bearer``) header, as the upload widget and scripts send it, or in the
service's cookie set at the end of the hub's OAuth flow (browsers). Cookie requests that
change something must also echo the ``_xsrf`` cookie (:mod:`aphos_lib.web.xsrf`).
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse
from jupyterhub.services.auth import HubOAuth

__all__ = ["HubUser", "ServiceAuth"]


@dataclass
class HubUser:
    """The signed-in hub user and how the request proved it."""

    name: str
    model: dict
    by_cookie: bool


class ServiceAuth:
    """The hub OAuth client of one service (its settings come from the hub's environment).

    Parameters
    ----------
    prefix : str
        The service's URL prefix, e.g. ``/services/api/`` (``JUPYTERHUB_SERVICE_PREFIX``).
    """

    def __init__(self, prefix: str | None = None, hub_auth: HubOAuth | None = None):
        self.prefix = prefix or os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/api/")
        self.hub = hub_auth or HubOAuth(cache_max_age=60)

    def _token(self, request: Request) -> tuple[str | None, bool]:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() in ("token", "bearer") and value:
            return value.strip(), False
        return request.cookies.get(self.hub.cookie_name), True

    async def user(self, request: Request) -> HubUser | None:
        """The signed-in user with access to this service, or None."""
        token, by_cookie = self._token(request)
        if not token:
            return None
        model = await self.hub.user_for_token(token, use_cache=True, sync=False)
        if not model or model.get("kind", "user") != "user":
            return None
        if not self.hub.check_scopes(self.hub.access_scopes, model):
            return None
        return HubUser(model["name"], model, by_cookie)

    async def require(self, request: Request) -> HubUser:
        """The signed-in user, or a 401 (a 403 when they lack access to this service)."""
        user = await self.user(request)
        if user is None:
            raise HTTPException(401, "sign in through the hub first")
        return user

    def login_redirect(self, next_url: str) -> RedirectResponse:
        """Send the browser through the hub's OAuth flow, back to ``next_url``."""
        state = self.hub.generate_state(next_url)  # kept by HubOAuth, expiring after 10 min
        query = urlencode(
            {
                "client_id": self.hub.oauth_client_id,
                "response_type": "code",
                "redirect_uri": self.hub.oauth_redirect_uri,
                "state": state,
            }
        )
        response = RedirectResponse(f"{self.hub.oauth_authorization_url}?{query}", 302)
        # The state cookie ties the callback to the browser that started the flow.
        response.set_cookie(
            "aphos-oauth-state", state, httponly=True, samesite="lax", path=self.prefix, max_age=600
        )
        return response

    async def callback(self, request: Request) -> RedirectResponse:
        """Finish the OAuth flow: trade the code for a token kept in the service's cookie."""
        state = request.query_params.get("state", "")
        expected = request.cookies.get("aphos-oauth-state", "")
        if not state or not hmac.compare_digest(state, expected):
            raise HTTPException(403, "OAuth state does not match; start again")
        next_url = self.hub.get_next_url(state)
        self.hub.clear_oauth_state(state)
        code = request.query_params.get("code", "")
        token = await self.hub.token_for_code(code, sync=False)
        response = RedirectResponse(next_url, 302)
        response.set_cookie(
            self.hub.cookie_name, token, httponly=True, samesite="lax", path=self.prefix
        )
        response.delete_cookie("aphos-oauth-state", path=self.prefix)
        return response
