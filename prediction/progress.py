"""Progress of a prediction run: papers/s and ETA, as a bar on a terminal and as log lines otherwise.

The number of papers is unknown until the dumps are read, so the total is estimated from how far into its
input the last paper was (line counts of the input files are taken up front, which is cheap).
"""

from __future__ import annotations

import gzip
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

_CHUNK = 1 << 20


def count_lines(path: str | Path) -> int:
    """Lines in a (possibly gzipped) file; 0 when it cannot be read (the dump reader reports that)."""
    try:
        opener = gzip.open if str(path).endswith(".gz") else open
        with opener(path, "rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(_CHUNK), b"")) + 1
    except (OSError, EOFError):
        return 0


def format_seconds(seconds: float) -> str:
    """`1h02m`, `3m05s` or `12s`."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class Progress:
    """Counts papers as chunks finish; shows a tqdm bar when `stream` is a terminal, else a line every `every` s."""

    def __init__(self, inputs: Sequence[str | Path], stream: TextIO = sys.stderr, every: float = 10.0) -> None:
        self.stream = stream
        self.every = every
        self.offsets: dict[str, int] = {}  # input -> lines of the inputs before it
        total = 0
        for path in inputs:
            self.offsets[str(Path(path))] = total
            total += count_lines(path)
        self.total_lines = total
        self.papers = 0
        self.started = self.logged = time.monotonic()
        terminal = getattr(stream, "isatty", lambda: False)()
        self.bar = tqdm(unit=" papers", file=stream, dynamic_ncols=True, smoothing=0.1) if terminal else None

    def fraction(self, source: str) -> float | None:
        """How far into the input the paper read from `source` ("path:line") is, when known."""
        path, _, line = source.rpartition(":")
        offset = self.offsets.get(str(Path(path)))
        if offset is None or not line.isdigit() or not self.total_lines:
            return None
        return min(1.0, (offset + int(line)) / self.total_lines)

    def update(self, papers: int, last_source: str) -> None:
        """`papers` more papers are done, the last of them read from `last_source`."""
        self.papers += papers
        fraction = self.fraction(last_source)
        if self.bar is not None:
            if fraction:
                self.bar.total = max(self.papers, round(self.papers / fraction))
            self.bar.update(papers)
            return
        now = time.monotonic()
        if now - self.logged >= self.every:
            self.logged = now
            self.stream.write(self._line(now - self.started, fraction) + "\n")
            self.stream.flush()

    def _line(self, elapsed: float, fraction: float | None) -> str:
        rate = self.papers / elapsed if elapsed > 0 else 0.0
        line = f"{self.papers:,} papers, {rate:,.0f} papers/s"
        if fraction:
            line += f", {fraction:.0%} of the input, ETA {format_seconds(elapsed * (1 - fraction) / fraction)}"
        return line

    def close(self) -> float:
        """Stop the bar; the elapsed seconds."""
        if self.bar is not None:
            self.bar.total = self.papers
            self.bar.refresh()
            self.bar.close()
        return time.monotonic() - self.started
