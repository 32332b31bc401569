"""What every command-line entry point shares: user errors as one line on stderr with exit status 2."""

from cli.errors import UserError, fail_cleanly

__all__ = ["UserError", "fail_cleanly"]
