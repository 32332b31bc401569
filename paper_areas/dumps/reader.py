"""Reading dump files (plain or gzip, `-` for standard input) once and leniently into de-duplicated papers."""

from __future__ import annotations

import codecs
import contextlib
import gzip
import hashlib
import io
import math
import re
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain, pairwise
from pathlib import Path
from typing import BinaryIO

from paper_areas.core import UserError
from paper_areas.dumps.formats import FORMATS, PARSERS, detect_format
from paper_areas.dumps.records import Entry, FormatProblem, Paper, Skip, dedupe_key, to_paper

GZIP_MAGIC = b"\x1f\x8b"
SNIFF_BYTES = 64 * 1024
READ_ERRORS = (OSError, EOFError, zlib.error)
NO_TEXT = "no title or abstract"
NOT_UTF8 = "with bytes not UTF-8 replaced by U+FFFD"
LONE_SURROGATES = "with lone surrogates (JSON escapes such as \\ud800) replaced by U+FFFD"
STDIN = "-"
# A file whose first SNIFF_BYTES hold more than this share of bytes that are not text (control bytes such as NUL,
# or bytes in invalid UTF-8 sequences) is refused as binary; random bytes are about half invalid UTF-8 and UTF-16
# text half NUL, while a text dump with a stray Latin-1 byte or two is far below it.
MAX_NOT_TEXT_SHARE = 0.10
CONTROL_BYTES = bytes(sorted(set(range(32)) - set(b"\t\n\v\f\r")))
_CONTROL_BYTE = re.compile(b"[" + re.escape(CONTROL_BYTES) + b"]")
DEFAULT_MAX_ENTRY_BYTES = 1 << 20  # a paper's line, and its title plus abstract; abstracts are a few KB
_DRAIN_BYTES = 1 << 16


class NoPapersError(UserError):
    """Every entry of the inputs was skipped: there is nothing to work on, and no output is written."""


class DumpError(UserError):
    """A fatal problem with an input file; ``str(error)`` is one line ``path:line: reason``."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")


@dataclass
class FileReport:
    """What reading one file found: its format, and the entries read, skipped and repaired (by reason)."""

    path: str
    format: str
    entries: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    repaired: Counter[str] = field(default_factory=Counter)  # of the entries read: kept with U+FFFD

    def describe(self) -> str:
        """`path: format, N entries, M skipped (k reason, ...)`, then `, R repaired (k reason, ...)` if any were."""
        text = f"{self.path}: {self.format}, {self.entries} entries, {counted(self.skipped, 'skipped')}"
        return text + (f", {counted(self.repaired, 'repaired')}" if self.repaired else "")


def counted(counts: Counter[str], what: str) -> str:
    """`N what (k reason, ...)`, the most frequent reason first."""
    reasons = ", ".join(f"{count} {reason}" for reason, count in counts.most_common())
    return f"{sum(counts.values())} {what}" + (f" ({reasons})" if reasons else "")


def read_failure(error: BaseException) -> str:
    """One-line reason for an I/O or decompression error."""
    return f"cannot read: {getattr(error, 'strerror', None) or error or type(error).__name__}"


def input_name(path: Path) -> str:
    """How reports and errors name an input: `<stdin>` for `-`, else its path."""
    return "<stdin>" if str(path) == STDIN else str(path)


def reads_once(path: Path) -> bool:
    """Whether the input cannot be read twice: `-`, or not a regular file (a pipe such as /dev/stdin, a FIFO)."""
    return str(path) == STDIN or not path.is_file()


class Replay(io.RawIOBase):
    """The bytes already taken from a stream (`head`), then the rest of it: how an input is looked at and then read
    whole from one opening. Closing it closes what `opened` holds (the input and its decompressor)."""

    def __init__(self, head: bytes, stream: BinaryIO, opened: contextlib.ExitStack | None = None) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._stream = stream
        self._opened = opened or contextlib.ExitStack()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:
        if self._head:
            data, self._head = self._head[: len(buffer)], self._head[len(buffer) :]
        else:
            data = self._stream.read1(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._opened.close()
        super().close()


def replay(head: bytes, stream: BinaryIO, opened: contextlib.ExitStack | None = None) -> BinaryIO:
    """A buffered stream of `head`, then the rest of `stream`."""
    return io.BufferedReader(Replay(head, stream, opened), SNIFF_BYTES)


# The inputs that cannot be read twice whose start `read_start` took: their reading starts with it.
_STARTED: dict[str, tuple[BinaryIO, bytes]] = {}


def start_reading(path: Path) -> tuple[BinaryIO, bytes]:
    """The input's bytes from their start, opened once (`-`: standard input, left open) and decompressed when they
    start with the gzip magic number, and their first SNIFF_BYTES; raises DumpError for unreadable or empty inputs
    and for binary ones (see MAX_NOT_TEXT_SHARE), naming the line of the first byte that is not text."""
    if (started := _STARTED.pop(str(path), None)) is not None:
        return started
    name = input_name(path)
    with contextlib.ExitStack() as opened:  # closed here on error, else by the stream returned
        try:
            file = opened.enter_context(open(0, "rb", closefd=False) if str(path) == STDIN else path.open("rb"))
            magic = file.read(len(GZIP_MAGIC))
            stream = replay(magic, file)
            if magic == GZIP_MAGIC:
                stream = opened.enter_context(gzip.GzipFile(fileobj=stream, mode="rb"))
            sample = stream.read(SNIFF_BYTES)
        except READ_ERRORS as error:
            raise DumpError(name, 1, read_failure(error)) from None
        if not sample.strip():
            raise DumpError(name, 1, "empty file")
        if (share := not_text_share(sample)) > MAX_NOT_TEXT_SHARE:
            line = sample.count(b"\n", 0, first_not_text(sample)) + 1
            raise DumpError(name, line, f"not UTF-8 text (binary?): {share:.0%} of its first {len(sample):,} "
                                        "bytes are control bytes or not UTF-8")
        return replay(sample, stream, opened.pop_all()), sample


def start_text(sample: bytes) -> str:
    """The start of an input as text, bytes not UTF-8 replaced by U+FFFD."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")("replace")
    return decoder.decode(sample, final=len(sample) < SNIFF_BYTES)


def read_start(path: Path) -> str:
    """The start of the input as text, raising DumpError as `start_reading` does; an input that cannot be read twice
    stays open, and reading it later in this process starts with the bytes taken here."""
    stream, sample = start_reading(path)
    if reads_once(path):
        _STARTED[str(path)] = stream, sample
    else:
        stream.close()
    return start_text(sample)


def not_text_share(sample: bytes) -> float:
    """The share of `sample`'s bytes that are control bytes or in invalid UTF-8 sequences (a character cut at the
    end of a sample counts too: at most 3 bytes)."""
    invalid = len(sample) - len(sample.decode("utf-8", "ignore").encode("utf-8"))
    control = len(sample) - len(sample.translate(None, CONTROL_BYTES))
    return (invalid + control) / len(sample)


def first_not_text(sample: bytes) -> int:
    """The offset of the first control byte or byte in an invalid UTF-8 sequence (len(sample) when none)."""
    control = _CONTROL_BYTE.search(sample)
    try:
        sample.decode("utf-8")
        invalid = len(sample)
    except UnicodeDecodeError as error:
        invalid = error.start
    return min(invalid, control.start() if control else len(sample))


class DumpReading:
    """The distinct papers of some dumps (`-`: standard input; format detected per file unless given), produced
    lazily in input order (iterate once), with per-file reports of what was skipped and repaired (docs/formats.md).

    An entry longer than `max_entry_bytes` (its line, or its title and abstract together) is skipped. A repaired
    entry is counted once: it spans its first line up to the next entry's (a line before the first entry, such as a
    CSV header, repairs none). Papers are de-duplicated on `key` (default: `dedupe_key`, the normalised title)."""

    def __init__(self, paths: Iterable[str | Path], format: str | None = None,
                 max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES, key: Callable[[Paper], str] = dedupe_key) -> None:
        if format is not None and format not in FORMATS:
            raise ValueError(f"unknown dump format {format!r}; expected one of {', '.join(FORMATS)}")
        if max_entry_bytes < 1:
            raise ValueError(f"max_entry_bytes must be at least 1, got {max_entry_bytes}")
        self.paths = [Path(path) for path in paths]
        if sum(str(path) == STDIN for path in self.paths) > 1:
            raise UserError(f"{STDIN}: standard input is named twice; it can be read only once")
        self.format = format
        self.max_entry_bytes = max_entry_bytes
        self.key = key
        self.too_long = f"entry over {max_entry_bytes:,} bytes"
        self.files: list[FileReport] = []
        self.duplicates = 0
        self.distinct = 0
        self._started = False

    def __iter__(self) -> Iterator[Paper]:
        if self._started:
            raise RuntimeError("a DumpReading can be iterated only once")
        self._started = True
        return self._papers()

    def summary(self) -> str:
        """One line per file read so far, then the distinct and duplicate counts."""
        totals = f"{self.distinct} distinct papers, {self.duplicates} duplicates dropped"
        return "\n".join([*(report.describe() for report in self.files), totals])

    def require_papers(self, what: str = "no papers", output: str | Path | None = None) -> None:
        """Raise NoPapersError (`what`, each file's counts, and that `output` was not written) if no paper was read."""
        if not self.distinct:
            files = "; ".join(report.describe() for report in self.files)
            raise NoPapersError(f"{what} ({files})" + (f"; {output} not written" if output else ""))

    def _papers(self) -> Iterator[Paper]:
        seen: set[bytes] = set()
        for path in self.paths:
            for paper in self._read_file(path):
                key = hashlib.blake2b(self.key(paper).encode("utf-8"), digest_size=16).digest()
                if key in seen:
                    self.duplicates += 1
                    continue
                seen.add(key)
                self.distinct += 1
                yield paper

    def _read_file(self, path: Path) -> Iterator[Paper]:
        name = input_name(path)
        stream, sample = start_reading(path)
        with stream:
            format = self.format or detect_format(start_text(sample))
            if format is None:
                raise DumpError(name, 1, f"cannot tell the format (use --format: {', '.join(FORMATS)})")
            report = FileReport(name, format)
            self.files.append(report)
            repaired_lines: deque[int] = deque()
            items = PARSERS[format](self._lines(stream, report, repaired_lines), self.max_entry_bytes)
            try:
                yield from self._papers_of(items, report, repaired_lines)
            except FormatProblem as problem:
                raise DumpError(name, problem.line, problem.reason) from None

    def _lines(self, stream: BinaryIO, report: FileReport, repaired_lines: deque[int]) -> Iterator[tuple[int, str]]:
        """The numbered lines of `stream` for a parser; a line over `max_entry_bytes` is drained in small pieces
        (memory stays bounded), counted and passed on blank; lines with bytes not UTF-8 go to `repaired_lines`."""
        number = 1  # of the line being read
        try:
            while raw := stream.readline(self.max_entry_bytes + 1):
                if len(raw) > self.max_entry_bytes and not raw.endswith(b"\n"):
                    while (rest := stream.readline(_DRAIN_BYTES)) and not rest.endswith(b"\n"):
                        pass
                    report.skipped[self.too_long] += 1
                    raw = b""
                if number == 1:
                    raw = raw.removeprefix(codecs.BOM_UTF8)
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    text = raw.decode("utf-8", "replace")
                    repaired_lines.append(number)
                yield number, text.rstrip("\r\n")
                number += 1
        except READ_ERRORS as error:
            raise DumpError(report.path, number, read_failure(error)) from None

    def _papers_of(self, items: Iterable[Entry | Skip], report: FileReport, repaired_lines: deque[int]
                   ) -> Iterator[Paper]:
        """The papers of parsed items, counting skips and repairs in `report`; an item is passed on once the next is
        parsed, as `repaired_lines` (ascending, filled as the parser reads) may hold a line up to the next item's."""
        for item, following in pairwise(chain(items, [None])):
            end = math.inf if following is None else following.line
            bytes_repaired = False
            while repaired_lines and repaired_lines[0] < end:
                bytes_repaired |= repaired_lines.popleft() >= item.line
            if isinstance(item, Skip):
                report.skipped[item.reason] += 1
            elif len(item.title) + len(item.abstract) > self.max_entry_bytes:
                report.skipped[self.too_long] += 1
            elif (paper := to_paper(item, report.path)) is None:
                report.skipped[NO_TEXT] += 1
            else:
                report.entries += 1
                if bytes_repaired or item.surrogates_replaced:
                    report.repaired[NOT_UTF8 if bytes_repaired else LONE_SURROGATES] += 1
                yield paper


read_dumps = DumpReading  # read_dumps(paths, format, max_entry_bytes, key): how callers start a reading
