"""What the command-line entry points share: user errors become one line on stderr and exit status 2."""

from __future__ import annotations

import sys
from collections.abc import Callable

from dumps import DumpError
from labeling import TaxonomyError
from pipeline.config import ConfigError
from pipeline.data import GoldError

USER_ERRORS: tuple[type[Exception], ...] = (ConfigError, DumpError, TaxonomyError, GoldError, FileNotFoundError)


def fail_cleanly(main: Callable[[], int], extra: tuple[type[Exception], ...] = ()) -> int:
    """Run `main`; a user error prints `error: <message>` and returns 2 instead of a traceback."""
    try:
        return main()
    except (*USER_ERRORS, *extra) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
