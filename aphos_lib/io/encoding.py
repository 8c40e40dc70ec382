"""Decoding the text files observers export, whatever their Windows locale wrote.

SIPS runs on Windows: files come as UTF-8 (with or without a BOM), as ISO-8859-1 (the
published SIPS files: the degree sign is byte 0xB0), or as Windows-1250 from Czech and Polish
systems. Everything APhoS needs to read is ASCII; the encoding only matters for header text
such as the observer's or the telescope's name, which is kept as written.
"""

from __future__ import annotations

import codecs

__all__ = ["decode_text"]

# Bytes 0x80-0x9F are C1 control codes in ISO-8859-1 and never appear in real Latin-1 text,
# but they are letters (Š, š, Ž, ž, Ť, ť, ...) or punctuation in Windows-1250.
_C1 = frozenset(range(0x80, 0xA0))
_ASCII = bytes(range(0x80))
# Letters that are common in Czech/Slovak/Polish words in Windows-1250 and rare in the
# Latin-1 texts an observatory writes (è, ø, ì, ù, ò, ...): č ř ě ů ň ď ł ą ę ś ź ż.
_CP1250_HINTS = frozenset(
    b"\xe8\xf8\xec\xf9\xf2\xef\xc8\xd8\xcc\xd9\xd2\xcf\xb3\xb9\xea\x9c\x9f\xbf"
)


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
    high = set(data.translate(None, delete=_ASCII))
    if high & _C1 or len(high & _CP1250_HINTS) > len(high - _CP1250_HINTS):
        try:
            return data.decode("windows-1250"), "windows-1250"
        except UnicodeDecodeError:
            pass  # 0x81, 0x83, 0x88, 0x90, 0x98 are undefined in Windows-1250
    return data.decode("iso-8859-1"), "iso-8859-1"
