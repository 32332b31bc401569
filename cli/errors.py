"""The base class of every error that is the user's to fix, and the wrapper that turns it into one line."""

from __future__ import annotations

import sys
from collections.abc import Callable


class UserError(Exception):
    """A problem with the user's input, config or environment; ``str(error)`` is one line that names it."""


def fail_cleanly(main: Callable[[], int]) -> int:
    """Run `main`; a UserError prints `error: <message>` and returns 2, Ctrl-C prints `interrupted` and returns 130."""
    try:
        return main()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
