"""The one error users see: bad input, named by file and field."""

from __future__ import annotations


class InputError(Exception):
    """Bad input from a user's file or command line.

    The CLI prints it as one line and exits with status 2; it never reaches the user as a
    traceback. The message reads `FILE[, line N]: FIELD must be EXPECTED (got RECEIVED)`.
    """

    def __init__(
        self,
        source: str,
        field: str,
        expected: str,
        received: object,
        line: int | None = None,
        *,
        message: str | None = None,
    ):
        self.source = source
        self.field = field
        self.expected = expected
        self.received = received
        self.line = line
        where = f"{source}, line {line}" if line is not None else source
        super().__init__(f"{where}: {message or f'{field} must be {expected} (got {received!r})'}")
