"""One SQL statement and its parameters, as a value: built by the query layer, run here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

__all__ = ["Query"]


@dataclass(frozen=True)
class Query:
    """A statement and its parameters; nothing runs until one of the methods is given a
    connection.

    Parameters
    ----------
    statement : str or psycopg.sql.Composable
        The SQL, with ``%s`` or ``%(name)s`` placeholders.
    params : sequence or mapping, optional
        The values of the placeholders.
    binary : bool
        Ask the server for binary results (arrays and numbers come back without text
        parsing).
    many : bool
        ``params`` is a sequence of parameter sets: :meth:`run` executes the statement once
        for each, in one batch.

    Examples
    --------
    >>> q = Query("SELECT id FROM image WHERE id = ANY(%s)", ([1, 2],))
    >>> q.text()
    'SELECT id FROM image WHERE id = ANY(%s)'
    >>> q.params
    ([1, 2],)
    """

    statement: str | sql.Composable
    params: Sequence[Any] | Mapping[str, Any] | None = None
    binary: bool = False
    many: bool = False

    def text(self, conn: psycopg.Connection | None = None) -> str:
        """The statement as text (a composed statement is rendered with ``conn``'s quoting,
        or the default when there is none)."""
        if isinstance(self.statement, str):
            return self.statement
        return self.statement.as_string(conn)

    def _execute(self, conn: psycopg.Connection) -> psycopg.Cursor:
        if self.many:
            raise TypeError("a statement with many parameter sets returns no rows: use run()")
        return conn.cursor(binary=self.binary).execute(self.statement, self.params)

    def rows(self, conn: psycopg.Connection) -> list[tuple]:
        """Every row of the result."""
        return self._execute(conn).fetchall()

    def dicts(self, conn: psycopg.Connection) -> list[dict[str, Any]]:
        """Every row as ``{column name: value}``."""
        cursor = self._execute(conn)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def one(self, conn: psycopg.Connection) -> tuple | None:
        """The first row, or None when there is none."""
        return self._execute(conn).fetchone()

    def value(self, conn: psycopg.Connection) -> Any:
        """The first column of the first row (None when there is no row)."""
        row = self.one(conn)
        return None if row is None else row[0]

    def run(self, conn: psycopg.Connection) -> int:
        """Run a statement that returns no rows; the number of rows it changed."""
        if self.many:
            with conn.cursor() as cursor:
                cursor.executemany(self.statement, self.params)
                return cursor.rowcount
        return self._execute(conn).rowcount

    def copy(self, conn: psycopg.Connection) -> AbstractContextManager[psycopg.Copy]:
        """Start a ``COPY ... FROM STDIN`` (or ``TO STDOUT``) statement: a context manager to
        write its data to (or read it from), as psycopg's ``Cursor.copy`` gives.

        Examples
        --------
        >>> q = Query("COPY flux (image_id, line) FROM STDIN (FORMAT binary)")
        >>> with q.copy(conn) as copy:  # doctest: +SKIP
        ...     copy.write(payload)
        """
        return conn.cursor().copy(self.statement, self.params)
