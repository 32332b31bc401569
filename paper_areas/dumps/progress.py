"""Progress through inputs of unknown length in papers: the share done is the last paper's line among all lines."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from paper_areas.core.progress import Progress
from paper_areas.dumps.reader import READ_ERRORS, DumpError, reads_once, start_reading

_CHUNK = 1 << 20


def count_lines(path: str | Path) -> int:
    """Lines in a regular file opened as the reader opens it; 0 when the reader alone may read it (pipes) or fails."""
    if reads_once(Path(path)):
        return 0
    try:
        stream, _ = start_reading(Path(path))
        with stream:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: stream.read(_CHUNK), b"")) + 1
    except (DumpError, *READ_ERRORS):
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
