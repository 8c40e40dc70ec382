"""Hub user names: the provider and its stable subject id, never an e-mail address.

The hub needs a user name at sign-in, before the observer has chosen a public username, and
the name must never change when an e-mail address does. So the hub name is the provider and
the provider's stable subject id (Google's userinfo ``id``, the ``sub`` of its id token); the
public username is kept apart in the ``observer`` table and can be chosen freely.
"""

from __future__ import annotations

import re

__all__ = ["hub_name", "parse_hub_name"]

PREFIXES = {"google": "google-", "local": "local-"}
_SUBJECT = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")


def hub_name(provider: str, subject: str) -> str:
    """The hub user name of an identity.

    Examples
    --------
    >>> hub_name("google", "108234567890123456789")
    'google-108234567890123456789'
    """
    subject = str(subject)
    if not _SUBJECT.match(subject):
        raise ValueError(f"subject {subject!r} cannot be part of a hub user name")
    # The hub lower-cases names; Google's ids are digits and local names compare without case.
    return PREFIXES[provider] + subject.lower()


def parse_hub_name(name: str) -> tuple[str, str]:
    """``(provider, subject)`` of a hub user name made by :func:`hub_name`.

    Examples
    --------
    >>> parse_hub_name("local-novak")
    ('local', 'novak')
    """
    for provider, prefix in PREFIXES.items():
        if name.startswith(prefix) and len(name) > len(prefix):
            return provider, name[len(prefix):]
    raise ValueError(f"hub user {name!r} was not made by APhoS's sign-in")
