"""Hub user names: the provider and its stable subject id, never an e-mail address.

The hub needs a user name at sign-in, before the observer has chosen a public username, and
the name must never change when an e-mail address does. So the hub name is the provider and
the provider's stable subject id (Google's userinfo ``id``, the ``sub`` of its id token); the
public username is kept apart in the ``observer`` table and can be chosen freely.

The local demo sign-in has no provider to give a subject: the name typed on its login page is
the identity, and :func:`local_subject` turns any such display name into a subject.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

__all__ = ["MAX_DISPLAY_NAME", "hub_name", "local_subject", "parse_hub_name"]

PREFIXES = {"google": "google-", "local": "local-"}
_SUBJECT = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")
# A display name that is already a plain name is its own subject: "novak" stays local-novak,
# the hub user the demo's observer novak is claimed by (aphos_lib.web.profiles).
_PLAIN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")
MAX_DISPLAY_NAME = 100
_SLUG_LENGTH = 24


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


def local_subject(display_name: str) -> str:
    """The subject of a name typed on the local demo's login page: any name, stable.

    A plain name (lower-case letters, digits, ``_ . -``, at most 32 characters, whatever its
    case) is its own subject. Any other name gives an ASCII slug of it and a hash of the whole
    name, so that "Jana Nováková" and "Jana Novakova" are two observers, while the same name
    typed again (in any case, with any spacing) is the same one.

    Raises
    ------
    ValueError
        The name is empty, or longer than :data:`MAX_DISPLAY_NAME` characters.

    Examples
    --------
    >>> local_subject("Novak")
    'novak'
    >>> local_subject("Jana Nováková")
    'jana-novakova-ec20e0b8'
    >>> local_subject("  jana   NOVÁKOVÁ ") == local_subject("Jana Nováková")
    True
    """
    # One spelling per name: composed accents, collapsed spaces, no case.
    name = " ".join(unicodedata.normalize("NFC", display_name).split()).casefold()
    if not name:
        raise ValueError("type a name to sign in")
    if len(name) > MAX_DISPLAY_NAME:
        raise ValueError(f"a name is limited to {MAX_DISPLAY_NAME} characters")
    if _PLAIN.match(name):
        return name
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")[:_SLUG_LENGTH].strip("-")
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{slug}-{digest}" if slug else digest


def parse_hub_name(name: str) -> tuple[str, str]:
    """``(provider, subject)`` of a hub user name made by :func:`hub_name`.

    Examples
    --------
    >>> parse_hub_name("local-novak")
    ('local', 'novak')
    """
    for provider, prefix in PREFIXES.items():
        if name.startswith(prefix) and len(name) > len(prefix):
            return provider, name[len(prefix) :]
    raise ValueError(f"hub user {name!r} was not made by APhoS's sign-in")
