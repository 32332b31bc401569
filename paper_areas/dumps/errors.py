"""The one error type of the dumps package."""

from __future__ import annotations

from paper_areas.core import UserError


class NoPapersError(UserError):
    """Every entry of the inputs was skipped: there is nothing to work on, and no output is written."""


class DumpError(UserError):
    """A fatal problem with an input file; ``str(error)`` is one line ``path:line: reason``."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


class FormatProblem(Exception):
    """Raised by a format parser for a fatal problem at ``line``; the reader adds the path."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason
