"""Headers that keep the api service's HTML pages from running anyone else's script.

Every user-supplied string in those pages is escaped where the page is built (profiles,
upload logs, job reports); the Content-Security-Policy is the second line: a tag that slipped
through still cannot run inline script, load script from elsewhere or frame the page.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SecurityHeaders", "content_security_policy"]


def content_security_policy(*script_hashes: str) -> str:
    """The policy of the service's HTML pages.

    Scripts only from the service itself (and the inline ones whose ``'sha256-...'`` hashes
    are given: Swagger UI's start-up script); inline styles are allowed (the pages, the job
    reports and Swagger UI use them); images from the service or ``data:`` URLs.
    """
    scripts = " ".join(("'self'", *script_hashes))
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src {scripts}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'self'",
        )
    )


class SecurityHeaders:
    """ASGI middleware: a CSP on every HTML response that has none; ``nosniff`` on all.

    ``X-Content-Type-Options: nosniff`` keeps a browser from running a JSON or notebook
    answer as HTML.
    """

    def __init__(self, app: ASGIApp, policy: str | None = None) -> None:
        self.app = app
        self.policy = policy or content_security_policy()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("x-content-type-options", "nosniff")
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("content-security-policy", self.policy)
            await send(message)

        await self.app(scope, receive, add_headers)
