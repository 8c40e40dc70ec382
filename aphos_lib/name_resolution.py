"""A star's name to its position on the sky, by CDS Sesame, as astropy's ``SkyCoord.from_name``.

Sesame (https://cds.unistra.fr/cgi-bin/Sesame) asks Simbad, then NED, then VizieR, and
answers in lines such as ``%J 326.4804167 +71.3107222 = 21 45 55.30 +71 18 38.6`` (ICRS,
J2000, degrees) under a ``#=S=Simbad ...`` line naming the database. Each answer is kept:

- in the catalogue (table ``resolved_name``), by connections that may write to it (the
  writer, the owner): every later search, from any process, finds it there;
- in this process, for connections that may not (the reader of dashboards and workspace
  kernels): a kernel must not be able to put a made-up position in everybody's searches.
  Names Sesame does not know are remembered here too, for a while.

The settings (where Sesame is, how long it may take) are
:class:`aphos_lib.settings.NameResolution`.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import psycopg

from aphos_lib.coordinates import format_dec, format_ra
from aphos_lib.queries import names
from aphos_lib.settings import NameResolution

__all__ = [
    "NameNotResolved",
    "NameResolutionError",
    "ResolvedName",
    "ResolverUnavailable",
    "forget_answers",
    "name_key",
    "parse_sesame",
    "resolve_name",
    "sesame_query_url",
]

log = logging.getLogger(__name__)

# Answers kept in this process: positions for good, unknown names for a while (Simbad learns
# new names, a nova's among them).
MAX_ANSWERS = 1024
UNKNOWN_FOR_S = 600.0
# Longer names are no star's: they are not sent.
MAX_NAME = 200
# After Sesame failed to answer, searches in the next seconds are told so at once, instead of
# each waiting for the timeout again (a dashboard without the network).
RETRY_AFTER_S = 30.0

_POSITION = re.compile(r"%J\s+(\S+)\s+(\S+)")
_DATABASE = re.compile(r"#=\w+=\s*([^:(,]+)")


class NameResolutionError(ValueError):
    """A name could not be turned into a position: a search shows the message as it is."""


class NameNotResolved(NameResolutionError, LookupError):
    """CDS Sesame knows no object by this name."""


class ResolverUnavailable(NameResolutionError):
    """CDS Sesame could not be asked: no network, it did not answer in time, or it failed."""


@dataclass(frozen=True)
class ResolvedName:
    """A name and the position CDS Sesame gives for it.

    Attributes
    ----------
    name : str
        The name as asked, its whitespace collapsed.
    ra_deg, dec_deg : float
        ICRS position, degrees.
    source : str
        The database that answered through Sesame: ``"Simbad"``, ``"NED"`` or ``"VizieR"``.

    Examples
    --------
    >>> gk = ResolvedName("GK Cep", 322.7464583, 70.8232167, "Simbad")
    >>> str(gk)
    'GK Cep: 21 30 59.15 +70 49 23.6 (CDS Sesame, Simbad)'
    >>> gk.to_dict()["source"]
    'Simbad'
    """

    name: str
    ra_deg: float
    dec_deg: float
    source: str

    def __str__(self) -> str:
        position = f"{format_ra(self.ra_deg, 'space', 2)} {format_dec(self.dec_deg, 'space', 1)}"
        return f"{self.name}: {position} (CDS Sesame, {self.source})"

    def to_dict(self) -> dict[str, Any]:
        """The answer as JSON-ready values."""
        return {
            "name": self.name,
            "ra_deg": self.ra_deg,
            "dec_deg": self.dec_deg,
            "source": self.source,
        }


def name_key(name: str) -> str:
    """The form a name is kept under: lower case, whitespace collapsed to one space.

    Examples
    --------
    >>> name_key("  GK   Cep ")
    'gk cep'
    """
    return " ".join(name.split()).lower()


def sesame_query_url(name: str, settings: NameResolution | None = None) -> str:
    """The address Sesame is asked at for ``name`` (Simbad, then NED, then VizieR), at
    ``settings.sesame_url`` (from the environment by default).

    Examples
    --------
    >>> sesame_query_url("GK Cep", NameResolution())
    'https://cds.unistra.fr/cgi-bin/nph-sesame/-oI/SNV?GK%20Cep'
    """
    settings = settings or NameResolution.from_environment()
    return f"{settings.sesame_url.rstrip('/')}/-oI/SNV?{quote(' '.join(name.split()), safe='')}"


def parse_sesame(text: str) -> tuple[float, float, str] | None:
    """The first position of a Sesame answer and the database that gave it, or None when
    the answer holds none (the name is unknown).

    Lines such as ``%J.E`` (the position's error) are not positions; a position out of
    range is refused.

    Raises
    ------
    ResolverUnavailable
        When the text is not a Sesame answer at all (an error page, a proxy's notice).

    Examples
    --------
    >>> parse_sesame('''# GK Cep    #Q1
    ... #=S=Simbad (via url):    1
    ... %I.0 V* GK Cep
    ... %J.E [0.0124 0.0131 90] A 2020yCat.1350....0G
    ... %J 322.7464583 +70.8232167 = 21 30 59.15 +70 49 23.6
    ... %J 1.0 +2.0 = 00 04 00.00 +02 00 00.0''')
    (322.7464583, 70.8232167, 'Simbad')
    >>> print(parse_sesame('''# nothing    #Q2
    ... #! *** Nothing found ***
    ... #====Done (2026-Dec-08,10:00:00z)===='''))
    None
    """
    database, sesame_like = "Sesame", False
    for line in text.splitlines():
        line = line.strip()
        sesame_like = sesame_like or line.startswith(("#", "%"))
        if found := _DATABASE.match(line):
            database = found.group(1).strip() or "Sesame"
        elif found := _POSITION.match(line):
            try:
                ra, dec = float(found.group(1)), float(found.group(2))
            except ValueError:
                continue
            if 0.0 <= ra < 360.0 and -90.0 <= dec <= 90.0:
                return ra, dec, database
    if not sesame_like:
        raise ResolverUnavailable("answered something that is not a Sesame answer")
    return None


# --- kept answers ----------------------------------------------------------------------------

_answers: OrderedDict[tuple[str, str], tuple[ResolvedName | None, float]] = OrderedDict()
_answers_lock = threading.Lock()
# Per connection, once: (may read resolved_name, may add to it).
_access: weakref.WeakKeyDictionary[psycopg.Connection, tuple[bool, bool]] = (
    weakref.WeakKeyDictionary()
)
# Per Sesame address: why it last failed, and when.
_failed: dict[str, tuple[str, float]] = {}


def forget_answers() -> None:
    """Forget the answers this process keeps, and Sesame's last failure (the answers kept in
    the catalogue stay)."""
    with _answers_lock:
        _answers.clear()
        _failed.clear()


def _remembered(key: tuple[str, str]) -> tuple[bool, ResolvedName | None]:
    with _answers_lock:
        entry = _answers.get(key)
        if entry is None:
            return False, None
        answer, when = entry
        if answer is None and time.monotonic() - when > UNKNOWN_FOR_S:
            del _answers[key]
            return False, None
        _answers.move_to_end(key)
        return True, answer


def _remember(key: tuple[str, str], answer: ResolvedName | None) -> None:
    with _answers_lock:
        _answers[key] = (answer, time.monotonic())
        _answers.move_to_end(key)
        while len(_answers) > MAX_ANSWERS:
            _answers.popitem(last=False)


def _cache_access(conn: psycopg.Connection) -> tuple[bool, bool]:
    """Whether ``conn`` may read the catalogue's answers and add to them (asked once)."""
    with _answers_lock:
        known = _access.get(conn)
    if known is None:
        row = names.access().one(conn)
        known = (bool(row[0]), bool(row[1])) if row else (False, False)
        with _answers_lock:
            _access[conn] = known
    return known


def _store(conn: psycopg.Connection, key: str, answer: ResolvedName) -> None:
    """Keep ``answer`` in the catalogue, in a savepoint: a failure costs the caller nothing."""
    try:
        with conn.transaction():
            names.store(key, answer.ra_deg, answer.dec_deg, answer.source).run(conn)
    except psycopg.Error as error:  # e.g. a read-only transaction: the answer stays unkept
        log.info("the answer for %r is not kept in the catalogue: %s", key, error)


# --- asking Sesame ---------------------------------------------------------------------------


def _ask_sesame(name: str, settings: NameResolution) -> str:
    """Sesame's answer for ``name``, at most ``settings.max_bytes`` of it, within
    ``settings.timeout`` seconds (twice that at most for an answer that trickles in).

    Raises
    ------
    ResolverUnavailable
        Whatever stopped the answer, in a few words.
    """
    import httpx

    deadline = time.monotonic() + settings.timeout
    try:
        with httpx.stream(
            "GET",
            sesame_query_url(name, settings),
            timeout=settings.timeout,
            follow_redirects=True,
            headers={"Accept-Encoding": "identity"},  # a compressed answer could grow unbounded
        ) as response:
            if response.status_code != 200:
                raise ResolverUnavailable(f"answered HTTP {response.status_code}")
            data = bytearray()
            for chunk in response.iter_raw(8192):
                data += chunk
                if len(data) >= settings.max_bytes:
                    data = data[: data.rfind(b"\n", 0, settings.max_bytes) + 1]  # whole lines
                    break
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("the answer took too long")
    except httpx.TimeoutException:
        raise ResolverUnavailable(f"did not answer within {settings.timeout:g} s") from None
    except httpx.HTTPError as error:
        raise ResolverUnavailable(f"could not be reached ({_reason(error)})") from None
    return data.decode("utf-8", errors="replace")


def _ask_sesame_unless_failed(name: str, settings: NameResolution) -> str:
    """:func:`_ask_sesame`, unless Sesame failed in the last :data:`RETRY_AFTER_S` seconds:
    then the same failure at once."""
    url = settings.sesame_url
    with _answers_lock:
        reason, when = _failed.get(url, ("", -RETRY_AFTER_S))
    if time.monotonic() - when < RETRY_AFTER_S:
        raise ResolverUnavailable(reason)
    try:
        return _ask_sesame(name, settings)
    except ResolverUnavailable as error:
        with _answers_lock:
            _failed[url] = (str(error), time.monotonic())
        raise


def _reason(error: Exception) -> str:
    """A short cause for a failed request: 'Connection refused', not a chain of exceptions."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
        cause = cause.__cause__ or cause.__context__
    text = str(error).split(":")[-1].strip()
    return text or type(error).__name__


def resolve_name(
    conn: psycopg.Connection, name: str, *, settings: NameResolution | None = None
) -> ResolvedName:
    """The position of the object called ``name``: kept answers first, else CDS Sesame.

    Parameters
    ----------
    conn : psycopg.Connection
        A catalogue connection: its kept answers are read (any role) and a new answer is
        kept there when the connection may write to them (writer, owner), else in this
        process.
    name : str
        Any name Simbad, NED or VizieR know: ``"GK Cep"``, ``"V* GK Cep"``,
        ``"UCAC4 805-031770"``.
    settings : NameResolution, optional
        Where Sesame is and how long it may take; from the environment by default.

    Returns
    -------
    ResolvedName

    Raises
    ------
    NameNotResolved
        When Sesame knows no such name.
    ResolverUnavailable
        When the name is not kept here and Sesame cannot be asked (no network, a timeout).

    Examples
    --------
    >>> resolve_name(conn, "GK Cep")  # doctest: +SKIP
    ResolvedName(name='GK Cep', ra_deg=322.7464583, dec_deg=70.8232167, source='Simbad')
    """
    key = name_key(name)
    if not key:
        raise ValueError("an empty name cannot be resolved")
    if len(key) > MAX_NAME:
        raise NameNotResolved(f"a name of more than {MAX_NAME} characters is not resolved")
    settings = settings or NameResolution.from_environment()
    shown = " ".join(name.split())
    readable, writable = _cache_access(conn)
    if readable and (row := names.lookup(key).one(conn)) is not None:
        return ResolvedName(shown, row[0], row[1], row[2])
    here = (settings.sesame_url, key)
    known, answer = _remembered(here)
    if not known:
        try:
            found = parse_sesame(_ask_sesame_unless_failed(name, settings))
        except ResolverUnavailable as error:
            host = urlsplit(settings.sesame_url).hostname or settings.sesame_url
            raise ResolverUnavailable(
                f"{shown!r} is not a name known here, and resolving it needs the "
                f"network: CDS Sesame ({host}) {error}"
            ) from None
        answer = None if found is None else ResolvedName(shown, *found)
        _remember(here, answer)
    if answer is None:
        raise NameNotResolved(f"CDS Sesame knows no object named {shown!r}")
    if writable:  # the catalogue's readers (every dashboard) find it there from now on
        _store(conn, key, answer)
    return ResolvedName(shown, answer.ra_deg, answer.dec_deg, answer.source)
