"""Receiving an upload's files: a multipart body streamed to disk as it arrives.

Each part of the body named ``files`` is written, chunk by chunk, straight to a fresh file
under a server-generated name (:func:`aphos_lib.jobs.storage.new_stored_name`), hashed and
counted on the way: a file is never held in memory, and the client's filename is kept only as
metadata. A file over the size limit stops the writing of every file of the upload; the caller
then calls :meth:`MultipartFiles.discard` so that nothing of it stays on disk, as it does when
the body stalls (:class:`UploadStalled`), the client goes away or anything else fails.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from aphos_lib.jobs.storage import new_stored_name, stored_path

__all__ = [
    "FileTooLarge",
    "MultipartFiles",
    "ReceivedFile",
    "UploadRejected",
    "UploadStalled",
    "check_filename",
    "folder_of",
]

# Text fields (``client``) are a few bytes; anything longer is not ours.
_MAX_FIELD = 200
_MAX_FILENAME = 255


class UploadRejected(ValueError):
    """The body cannot be an upload (not multipart, no files, too many files)."""


class FileTooLarge(UploadRejected):
    """A file is over the per-file size limit."""


class UploadStalled(UploadRejected):
    """No part of the body arrived for the idle timeout (the client stalled, still connected)."""


@dataclass
class ReceivedFile:
    """One file as it now lies on disk."""

    position: int
    filename: str
    stored_name: str
    size_bytes: int
    sha256: bytes


@dataclass
class _Part:
    name: str
    filename: str | None
    out: BinaryIO | None = None
    stored_name: str | None = None
    size: int = 0
    hasher: object = None
    text: bytes = b""


class MultipartFiles:
    """A ``multipart/form-data`` body parsed as it is fed; its ``files`` parts go to disk.

    Parameters
    ----------
    content_type : str
        The request's ``Content-Type`` (it carries the boundary).
    upload_id : int
        The upload the files belong to (their stored names start with it).
    max_bytes : int
        The largest file accepted.
    max_files : int
        The most files in one upload.

    Examples
    --------
    >>> receiver = MultipartFiles(request.headers["content-type"], 12, max_bytes=20 << 20,
    ...                           max_files=500)  # doctest: +SKIP
    >>> async for chunk in request.stream():  # doctest: +SKIP
    ...     receiver.feed(chunk)
    >>> files = receiver.finish()  # doctest: +SKIP
    """

    def __init__(self, content_type: str, upload_id: int, *, max_bytes: int, max_files: int):
        kind, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise UploadRejected("send the files as multipart/form-data, in fields named 'files'")
        self.upload_id = int(upload_id)
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.files: list[ReceivedFile] = []
        self.fields: dict[str, str] = {}
        self.error: UploadRejected | None = None
        self._written: list[str] = []
        self._part: _Part | None = None
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""
        callbacks = {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._add("_field", data[start:end]),
            "on_header_value": lambda data, start, end: self._add("_value", data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }
        self._parser = MultipartParser(boundary, callbacks)

    def feed(self, chunk: bytes) -> None:
        """Parse the next piece of the body (after an error, the rest is only read)."""
        if chunk and self.error is None:
            try:
                self._parser.write(chunk)
            except MultipartParseError as exc:
                self._fail(_malformed(exc))

    def finish(self) -> list[ReceivedFile]:
        """The files received, once the whole body was fed.

        Raises
        ------
        FileTooLarge, UploadRejected
            The upload cannot be taken; call :meth:`discard` to remove what was written.
        """
        if self.error is None:
            try:
                self._parser.finalize()
            except MultipartParseError as exc:
                self._fail(_malformed(exc))
        if self.error is None and self._part is not None:
            self.error = UploadRejected("the body ended in the middle of a file")
        if self.error is None and not self.files:
            self.error = UploadRejected("no files: send them in fields named 'files'")
        if self.error is not None:
            raise self.error
        return self.files

    def discard(self) -> None:
        """Remove every file this upload wrote (their folder too, when it is left empty)."""
        if self._part is not None and self._part.out is not None:
            self._part.out.close()
        for name in self._written:
            stored_path(name).unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # only when empty: never another request's files
            folder_of(self.upload_id).rmdir()

    # The parser's callbacks.

    def _add(self, attr: str, data: bytes) -> None:
        setattr(self, attr, getattr(self, attr) + data)

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field = self._value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        part = _Part(name, None if filename is None else filename.decode("utf-8", "replace"))
        if name == "files" and filename is not None:
            if len(self.files) >= self.max_files:
                return self._fail(UploadRejected(f"at most {self.max_files} files per upload"))
            try:
                part.filename = check_filename(part.filename)
            except UploadRejected as exc:
                return self._fail(exc)
            part.stored_name = new_stored_name(self.upload_id)
            path = stored_path(part.stored_name)
            path.parent.mkdir(parents=True, exist_ok=True)
            part.out = open(path, "xb")  # noqa: SIM115 (closed at the part's end or discard)
            self._written.append(part.stored_name)
            part.hasher = hashlib.sha256()
        self._part = part

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._part
        if part is None or self.error is not None:
            return
        chunk = data[start:end]
        part.size += len(chunk)
        if part.out is not None:
            if part.size > self.max_bytes:
                limit = f"{self.max_bytes / 2**20:g} MB"
                return self._fail(FileTooLarge(f"{part.filename!r} is over the {limit} limit"))
            part.out.write(chunk)
            part.hasher.update(chunk)
        elif part.size <= _MAX_FIELD:
            part.text += chunk

    def _part_end(self) -> None:
        part, self._part = self._part, None
        if part is None or self.error is not None:
            return
        if part.out is not None:
            part.out.close()
            self.files.append(
                ReceivedFile(
                    len(self.files),
                    part.filename,
                    part.stored_name,
                    part.size,
                    part.hasher.digest(),
                )
            )
        elif part.size <= _MAX_FIELD:
            self.fields[part.name] = part.text.decode("utf-8", "replace")

    def _fail(self, error: UploadRejected) -> None:
        self.error = error
        if self._part is not None and self._part.out is not None:
            self._part.out.close()


def _malformed(exc: MultipartParseError) -> UploadRejected:
    if "header size" in str(exc):
        # A part's headers are one line each, the file name included.
        return UploadRejected(f"a file name is too long (at most {_MAX_FILENAME} characters)")
    return UploadRejected("the multipart/form-data body is malformed")


def check_filename(name: str) -> str:
    """The client's file name, when it is a plain file name; an empty one is ``unnamed``.

    The name is only metadata (files are stored under server-generated names), but it is
    shown in pages and reports and is the observer's way to find a file again: a name that
    could not be a file's own name is refused rather than silently changed.

    Raises
    ------
    UploadRejected
        The name is over 255 characters, holds a control character (NUL included) or a path
        separator, or is ``.`` or ``..``.
    """
    shown = repr(name[:60] + ("..." if len(name) > 60 else ""))
    if len(name) > _MAX_FILENAME:
        length = f"{len(name)} characters long (at most {_MAX_FILENAME})"
        raise UploadRejected(f"file name {shown} is {length}")
    if not name.isprintable():
        raise UploadRejected(f"file name {shown} holds a control character")
    if "/" in name or "\\" in name:
        raise UploadRejected(f"file name {shown} holds a path separator: send the file's own name")
    name = name.strip()
    if name in (".", ".."):
        raise UploadRejected(f"file name {shown} is not a file's name")
    return name or "unnamed"


def folder_of(upload_id: int) -> Path:
    """The folder holding an upload's stored files."""
    return stored_path(f"{int(upload_id)}/x").parent
