"""Schemathesis checks of this project, loaded with ``SCHEMATHESIS_HOOKS=schemathesis_hooks``."""

import json

import schemathesis


def _refuse(token: str):
    raise ValueError(f"{token} is not JSON")


@schemathesis.check
def strict_json(ctx, response, case):
    """A JSON answer parses as browsers parse it: no NaN, Infinity or -Infinity token."""
    kind = {k.lower(): v for k, v in response.headers.items()}.get("content-type", "")
    if "json" not in (kind[0] if isinstance(kind, list) and kind else str(kind)):
        return None
    try:
        json.loads(response.content, parse_constant=_refuse)
    except ValueError as exc:
        raise AssertionError(f"not standard JSON: {exc}") from None
    return None
