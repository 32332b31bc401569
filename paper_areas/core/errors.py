"""The base class of every error that is the user's to fix, and the wrapper that turns it into one line."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from types import FrameType


class UserError(Exception):
    """A problem with the user's input, config or environment; ``str(error)`` is one line that names it."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C so that `finally` blocks and context managers clean up."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the clean-up short
    raise Terminated


def fail_cleanly(main: Callable[[], int]) -> int:
    """Run `main`; a UserError prints `error: <message>` and returns 2, Ctrl-C prints `interrupted` and returns
    130, SIGTERM (handled like Ctrl-C while `main` runs) prints `terminated` and returns 143."""
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return main()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Terminated:
        print("terminated", file=sys.stderr)
        return 128 + signal.SIGTERM  # the shell's status of a process a signal ended
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    finally:
        signal.signal(signal.SIGTERM, previous)
