"""What every layer stands on: user errors as one line with exit status 2, SIGTERM handled like Ctrl-C, UTF-8
input files read with one-line errors, output files written atomically that never replace an input, progress of
long jobs, argument types, the source shipped with a model."""

from paper_areas.core.arguments import positive
from paper_areas.core.errors import Terminated, UserError, fail_cleanly
from paper_areas.core.inputs import read_utf8
from paper_areas.core.outputs import atomic_output, check_output_path, publish, temporary_beside, write_output

__all__ = ["Terminated", "UserError", "atomic_output", "check_output_path", "fail_cleanly", "positive", "publish",
           "read_utf8", "temporary_beside", "write_output"]
