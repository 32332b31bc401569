"""Progress of long jobs: a bar on a terminal, else log lines with the share done, the elapsed time and an ETA."""

from progress.inputs import InputProgress, count_lines
from progress.reporter import Progress, format_seconds, is_terminal

__all__ = ["InputProgress", "Progress", "count_lines", "format_seconds", "is_terminal"]
