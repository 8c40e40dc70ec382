"""Decoding the text files observers export, whatever their Windows locale wrote.

SIPS runs on Windows: files come as UTF-8 (with or without a BOM), as ISO-8859-1 (the
published SIPS files: the degree sign is byte 0xB0), or as Windows-1250 from Czech and Polish
systems. Everything APhoS needs to read is ASCII; the encoding only matters for header text
such as the observer's or the telescope's name, which is kept as written.
"""

from __future__ import annotations

import codecs
import re

import numpy as np

__all__ = ["decode_text"]

# Bytes 0x80-0x9F are C1 control codes in ISO-8859-1 and never appear in real Latin-1 text,
# but they are letters (Š, š, Ž, ž, Ť, ť, ...) or punctuation in Windows-1250.
_C1 = re.compile(rb"[\x80-\x9f]")
_LETTER = rb"[A-Za-z\xc0-\xff]"
# Letters in Windows-1250 that are symbols in Latin-1 (Ł Ą Ş Ż ł ą ş Ľ ľ ż against
# £ ¥ ª ¯ ³ ¹ º ¼ ¾ ¿): inside a word they are letters, so the file is Windows-1250.
_CP1250_ONLY = rb"[\xa3\xa5\xaa\xaf\xb3\xb9\xba\xbc\xbe\xbf]"
_CP1250_IN_WORD = re.compile(rb"%s%s|%s%s" % (_CP1250_ONLY, _LETTER, _LETTER, _CP1250_ONLY))
# Bytes that are a letter in both but a different one (č/è, ř/ø, ě/ì, ů/ù, ň/ò, ď/ï, ć/æ,
# ń/ñ, ĺ/å, ă/ã, ő/õ, ę/ê and capitals). Czech and Polish put such letters next to another
# accented letter all the time (ří, řá, čí, ěž); French, Italian or Nordic names rarely do.
_AMBIGUOUS = (
    rb"[\xe8\xf8\xec\xf9\xf2\xef\xe6\xf1\xe5\xe3\xf5\xea"
    rb"\xc8\xd8\xcc\xd9\xd2\xcf\xc6\xd1\xc5\xc3\xd5\xca]"
)
_CLUSTER = re.compile(rb"%s[\xc0-\xff]|[\xc0-\xff]%s" % (_AMBIGUOUS, _AMBIGUOUS))


def _looks_like_cp1250(data: bytes) -> bool:
    # Only the neighbourhood of non-ASCII bytes matters, and SIPS files have few of them
    # (header text, star names): find them with numpy and test small windows around them.
    high = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) >= 0x80)
    for position in high.tolist():
        window = data[max(position - 1, 0) : position + 2]
        if _C1.search(window) or _CP1250_IN_WORD.search(window) or _CLUSTER.search(window):
            return True
    return False


def decode_text(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Decode a file's bytes and say which encoding was used.

    Parameters
    ----------
    data : bytes
        The file's content.
    encoding : str, optional
        Use this encoding instead of guessing.

    Returns
    -------
    tuple of (str, str)
        The text (a BOM removed) and the encoding's name: ``"utf-8-sig"``, ``"utf-8"``,
        ``"windows-1250"`` or ``"iso-8859-1"``.

    Examples
    --------
    >>> decode_text("CenterDec;+68° 33'".encode("latin-1"))
    ("CenterDec;+68° 33'", 'iso-8859-1')
    """
    if encoding is not None:
        return data.decode(encoding), codecs.lookup(encoding).name
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if _looks_like_cp1250(data):
        try:
            return data.decode("windows-1250"), "windows-1250"
        except UnicodeDecodeError:
            pass  # 0x81, 0x83, 0x88, 0x90, 0x98 are undefined in Windows-1250
    return data.decode("iso-8859-1"), "iso-8859-1"
