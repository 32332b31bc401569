"""What every command-line entry point shares: user errors as one line with exit status 2, SIGTERM handled like
Ctrl-C, UTF-8 input files read with one-line errors, output files that are written atomically and never replace an
input, argument types."""

from cli.arguments import positive
from cli.errors import Terminated, UserError, fail_cleanly
from cli.inputs import read_utf8
from cli.outputs import atomic_output, check_output_path, publish, temporary_beside, write_output

__all__ = ["Terminated", "UserError", "atomic_output", "check_output_path", "fail_cleanly", "positive", "publish",
           "read_utf8", "temporary_beside", "write_output"]
