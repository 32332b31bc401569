"""Progress through input files whose number of papers is unknown until they are read: the share done is estimated
from how far into its input the last paper was (line counts of the input files are taken up front, which is cheap).
"""

from __future__ import annotations

import gzip
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from paper_areas.core.progress import Progress

_CHUNK = 1 << 20


def count_lines(path: str | Path) -> int:
    """Lines in a (possibly gzipped) regular file; 0 when it cannot be read (the dump reader reports that) or is
    not a regular file (standard input, a pipe or a FIFO can be read only once: by the dump reader)."""
    if not Path(path).is_file():
        return 0
    try:
        opener = gzip.open if str(path).endswith(".gz") else open
        with opener(path, "rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(_CHUNK), b"")) + 1
    except (OSError, EOFError):
        return 0


class InputProgress(Progress):
    """Counts papers as chunks finish; the share done is the last paper's position in the inputs."""

    def __init__(self, inputs: Sequence[str | Path], stream: TextIO = sys.stderr, every: float = 10.0,
                 label: str = "") -> None:
        self.offsets: dict[str, int] = {}  # input -> lines of the inputs before it
        total = 0
        for path in inputs:
            self.offsets[str(Path(path))] = total
            total += count_lines(path)
        self.total_lines = total
        super().__init__("papers", stream, every, label=label, share_of="of the input")

    def fraction(self, source: str) -> float | None:
        """How far into the input the paper read from `source` ("path:line") is, when known."""
        path, _, line = source.rpartition(":")
        offset = self.offsets.get(str(Path(path)))
        if offset is None or not line.isdigit() or not self.total_lines:
            return None
        return min(1.0, (offset + int(line)) / self.total_lines)

    def update(self, papers: int, last_source: str) -> None:
        """`papers` more papers are done, the last of them read from `last_source`."""
        self.advance(papers, self.fraction(last_source))
