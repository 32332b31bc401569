"""One progress reporter for every long job: tqdm on a terminal, plain lines when output goes to a file or CI."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from tqdm import tqdm


def format_seconds(seconds: float) -> str:
    """`1h02m`, `3m05s` or `12s`."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class Progress:
    """Counts units of work; a tqdm bar when `stream` is a terminal, else a line at most every `every` seconds.

    A line reads `<label>: 120 steps, 2.1 steps/s, 36% done, ETA 1m41s, 57s elapsed, <status>`; the share done is
    `done / total` when the total is known, or what the caller passes. `quiet=True` reports nothing."""

    def __init__(self, unit: str, stream: TextIO = sys.stderr, every: float = 10.0, total: int | None = None,
                 label: str = "", share_of: str = "done", quiet: bool = False) -> None:
        self.unit, self.stream, self.every, self.total, self.label, self.share_of = (
            unit, stream, every, total, label, share_of)
        self.quiet = quiet
        self.done = 0
        self.share: float | None = None  # of the whole job, when known
        self.started = self.logged = time.monotonic()
        self.bar = None
        if not quiet and getattr(stream, "isatty", lambda: False)():  # a terminal: a bar can redraw itself
            self.bar = tqdm(total=total, desc=label or None, unit=f" {unit}", file=stream, dynamic_ncols=True,
                            smoothing=0.1)

    def advance(self, units: int, fraction: float | None = None, status: str = "") -> None:
        """`units` more are done; `fraction` of the whole job is done (default `done / total`)."""
        self.done += units
        self.share = fraction if fraction is not None else (self.done / self.total if self.total else None)
        if self.bar is not None:
            if self.share and not self.total:
                self.bar.total = max(self.done, round(self.done / self.share))
            if status:
                self.bar.set_postfix_str(status, refresh=False)
            self.bar.update(units)
        elif not self.quiet and time.monotonic() - self.logged >= self.every:
            self.log(status)

    def log(self, status: str = "") -> None:
        """Write a progress line now (above the bar on a terminal), e.g. at the end of an epoch."""
        if self.quiet:
            return
        self.logged = time.monotonic()
        line = self.line(self.logged - self.started, status)
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
        else:
            self.stream.write(line + "\n")
            self.stream.flush()

    def line(self, elapsed: float, status: str = "") -> str:
        """The text of a progress line after `elapsed` seconds."""
        rate = self.done / elapsed if elapsed > 0 else 0.0
        parts = [f"{self.done:,} {self.unit}", f"{rate:,.0f} {self.unit}/s" if rate >= 10 else
                 f"{rate:.1f} {self.unit}/s"]
        if self.share:
            remaining = elapsed * (1 - self.share) / self.share
            parts.append(f"{self.share:.0%} {self.share_of}, ETA {format_seconds(remaining)}")
        parts += [f"{format_seconds(elapsed)} elapsed", status]
        return (f"{self.label}: " if self.label else "") + ", ".join(filter(None, parts))

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> float:
        """Stop the bar; the elapsed seconds."""
        if self.bar is not None:
            self.bar.total = self.done
            self.bar.refresh()
            self.bar.close()
        return time.monotonic() - self.started
