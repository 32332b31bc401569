"""Opening dump files (plain or gzip, `-` for standard input) once, decoding them leniently, and streaming
de-duplicated papers."""

from __future__ import annotations

import codecs
import contextlib
import gzip
import hashlib
import io
import math
import re
import stat
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from paper_areas.core import UserError
from paper_areas.dumps.detect import detect_format
from paper_areas.dumps.errors import DumpError, FormatProblem, NoPapersError
from paper_areas.dumps.formats import FORMATS, PARSERS
from paper_areas.dumps.records import Entry, Paper, Skip, dedupe_key, to_paper

GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = codecs.BOM_UTF8
SNIFF_BYTES = 64 * 1024
READ_ERRORS = (OSError, EOFError, zlib.error)
NO_TEXT = "no title or abstract"
NOT_UTF8 = "with bytes not UTF-8 replaced by U+FFFD"
LONE_SURROGATES = "with lone surrogates (JSON escapes such as \\ud800) replaced by U+FFFD"
STDIN = "-"
STDIN_NAME = "<stdin>"
# A file whose first SNIFF_BYTES hold more than this share of bytes that are not text (control bytes such as NUL,
# or bytes in invalid UTF-8 sequences) is refused as binary; random bytes are about half invalid UTF-8 and UTF-16
# text half NUL, while a text dump with a stray Latin-1 byte or two is far below it.
MAX_NOT_TEXT_SHARE = 0.10
CONTROL_BYTES = bytes(sorted(set(range(32)) - set(b"\t\n\v\f\r")))
_CONTROL_BYTE = re.compile(b"[" + re.escape(CONTROL_BYTES) + b"]")
DEFAULT_MAX_ENTRY_BYTES = 1 << 20  # a paper's line, and its title plus abstract; abstracts are a few KB
_DRAIN_BYTES = 1 << 16


@dataclass
class FileReport:
    """What reading one file found: its format, the entries read, the entries skipped by reason, and of the
    entries read those repaired (kept with U+FFFD for bytes that are not UTF-8), by reason."""

    path: str
    format: str
    entries: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    repaired: Counter[str] = field(default_factory=Counter)

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
    return STDIN_NAME if str(path) == STDIN else str(path)


def reads_once(path: Path) -> bool:
    """Whether the input cannot be opened and read again: `-` (standard input) or anything that is not a regular
    file (a pipe such as /dev/stdin, a FIFO, a terminal)."""
    if str(path) == STDIN:
        return True
    try:
        return not stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


class Replay(io.RawIOBase):
    """The bytes already taken from a stream (`head`), then the rest of it: how an input is looked at and then read
    whole from one opening. Closing it closes the stream."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._stream = stream

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
        if not self.closed:
            self._stream.close()
        super().close()


def replay(head: bytes, stream: BinaryIO) -> BinaryIO:
    """A buffered stream of `head`, then the rest of `stream`."""
    return io.BufferedReader(Replay(head, stream), SNIFF_BYTES)


class GzipInput(gzip.GzipFile):
    """The decompressed bytes of a gzip stream, which is closed with it."""

    def __init__(self, compressed: BinaryIO) -> None:
        super().__init__(fileobj=compressed, mode="rb")
        self._compressed = compressed

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._compressed.close()


def open_bytes(path: Path) -> BinaryIO:
    """The input's bytes, opened once (`-`: standard input, left open), decompressed when they start with the gzip
    magic number."""
    file = open(0, "rb", closefd=False) if str(path) == STDIN else path.open("rb")
    try:
        magic = file.read(len(GZIP_MAGIC))
    except BaseException:
        file.close()
        raise
    stream = replay(magic, file)
    return GzipInput(stream) if magic == GZIP_MAGIC else stream


# The inputs that cannot be read twice whose start `read_start` took: their reading starts with it.
_STARTED: dict[str, tuple[BinaryIO, bytes]] = {}


def start_reading(path: Path) -> tuple[BinaryIO, bytes]:
    """The input's (decompressed) bytes from their start, opened once, and their first SNIFF_BYTES; raises DumpError
    for unreadable or empty inputs and for binary ones (see MAX_NOT_TEXT_SHARE), naming the line of the first byte
    that is not text."""
    if (started := _STARTED.pop(str(path), None)) is not None:
        return started
    name = input_name(path)
    with contextlib.ExitStack() as on_error:
        try:
            stream = on_error.enter_context(open_bytes(path))
            sample = stream.read(SNIFF_BYTES)
        except READ_ERRORS as error:
            raise DumpError(name, 1, read_failure(error)) from None
        if not sample.strip():
            raise DumpError(name, 1, "empty file")
        if (share := not_text_share(sample)) > MAX_NOT_TEXT_SHARE:
            line = sample.count(b"\n", 0, first_not_text(sample)) + 1
            raise DumpError(name, line, f"not UTF-8 text (binary?): {share:.0%} of its first {len(sample):,} "
                                        "bytes are control bytes or not UTF-8")
        on_error.pop_all()
    return replay(sample, stream), sample


def start_text(sample: bytes) -> str:
    """The start of an input as text, bytes not UTF-8 replaced by U+FFFD."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")("replace")
    return decoder.decode(sample, final=len(sample) < SNIFF_BYTES)


def read_start(path: Path) -> str:
    """The first SNIFF_BYTES of the (decompressed) input as text, bytes not UTF-8 replaced by U+FFFD; raises
    DumpError as `start_reading` does. An input that cannot be read twice (see `reads_once`) stays open, and reading
    it later in this process starts with the bytes taken here."""
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


def decode_line(raw: bytes) -> tuple[str, bool]:
    """The text of `raw`, and whether bytes that are not UTF-8 were replaced by U+FFFD in it."""
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace"), True


def _bounded_lines(stream: BinaryIO, max_bytes: int) -> Iterator[bytes | None]:
    """Each line of `stream` with its line break, or None for a line longer than `max_bytes`, whose bytes are
    read in small pieces and dropped: memory stays bounded however long a line is."""
    while raw := stream.readline(max_bytes + 1):
        if len(raw) <= max_bytes or raw.endswith(b"\n"):
            yield raw
            continue
        while (rest := stream.readline(_DRAIN_BYTES)) and not rest.endswith(b"\n"):
            pass
        yield None


def numbered_lines(
    stream: BinaryIO, name: str, max_line_bytes: int = DEFAULT_MAX_ENTRY_BYTES
) -> Iterator[tuple[int, str | None, bool]]:
    """(line number, text without the line break, whether bytes not UTF-8 were replaced by U+FFFD in it) of the
    input `name` read from `stream`; read errors name the line. A line longer than `max_line_bytes` comes as
    (number, None, False)."""
    number = 0
    try:
        for number, raw in enumerate(_bounded_lines(stream, max_line_bytes), 1):
            if raw is None:
                yield number, None, False
                continue
            if number == 1 and raw.startswith(UTF8_BOM):
                raw = raw[len(UTF8_BOM) :]
            text, repaired = decode_line(raw)
            yield number, text.rstrip("\r\n"), repaired
    except READ_ERRORS as error:
        raise DumpError(name, number + 1, read_failure(error)) from None


class DumpReading:
    """The distinct papers of some dumps, produced lazily (iterate once), with per-file reports.

    An entry longer than `max_entry_bytes` (its line, or its title and abstract together) is skipped and counted.
    An entry holding a line with bytes that are not UTF-8, or lone surrogates (JSON escapes that are not Unicode
    text), is kept with U+FFFD in their place and counted as repaired (counted once per entry: an entry spans its
    first line up to the next entry's first line; a line before the first entry, such as a CSV header, repairs no
    entry and is not counted). Each input is opened once, so `-` (standard input) and pipes are read whole.
    Papers are de-duplicated on `key` (default: `dedupe_key`, the normalised title, as training reads them).
    """

    def __init__(
        self, paths: Iterable[str | Path], format: str | None = None, max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
        key: Callable[[Paper], str] = dedupe_key,
    ) -> None:
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
        lines = [report.describe() for report in self.files]
        lines.append(f"{self.distinct} distinct papers, {self.duplicates} duplicates dropped")
        return "\n".join(lines)

    def require_papers(self, what: str = "no papers", output: str | Path | None = None) -> None:
        """Raise NoPapersError, `what` then each file's counts (and that `output` was not written), when no paper
        was read."""
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
            lines = self._lines(numbered_lines(stream, name, self.max_entry_bytes), report, repaired_lines)
            items = with_repairs(PARSERS[format](lines, self.max_entry_bytes), repaired_lines)
            try:
                yield from self._papers_of(items, report)
            except FormatProblem as problem:
                raise DumpError(name, problem.line, problem.reason) from None

    def _papers_of(self, items: Iterable[tuple[Entry | Skip, bool]], report: FileReport) -> Iterator[Paper]:
        """The papers of parsed items (with whether bytes not UTF-8 were repaired in each); skips and repairs are
        counted in `report`."""
        for item, bytes_repaired in items:
            if isinstance(item, Skip):
                report.skipped[item.reason] += 1
                continue
            if len(item.title) + len(item.abstract) > self.max_entry_bytes:
                report.skipped[self.too_long] += 1
            elif (paper := to_paper(item, report.path)) is None:
                report.skipped[NO_TEXT] += 1
            else:
                report.entries += 1
                if bytes_repaired or item.surrogates_replaced:
                    report.repaired[NOT_UTF8 if bytes_repaired else LONE_SURROGATES] += 1
                yield paper

    def _lines(
        self, lines: Iterable[tuple[int, str | None, bool]], report: FileReport, repaired_lines: deque[int]
    ) -> Iterator[tuple[int, str]]:
        """The numbered lines for a parser; an over-long line is counted and passed on as blank, and the number of
        a line with bytes replaced by U+FFFD is appended to `repaired_lines`."""
        for number, text, repaired in lines:
            if text is None:
                report.skipped[self.too_long] += 1
            if repaired:
                repaired_lines.append(number)
            yield number, text or ""


def with_repairs(items: Iterable[Entry | Skip], repaired_lines: deque[int]) -> Iterator[tuple[Entry | Skip, bool]]:
    """Each parsed item with whether a repaired line lies in it, from its first line up to the next item's (so an
    item is passed on once the next one is parsed). `repaired_lines` (ascending) fills as the parser reads."""
    pending: Entry | Skip | None = None
    for item in items:
        if pending is not None:
            yield pending, any_in_range(repaired_lines, pending.line, item.line)
        pending = item
    if pending is not None:
        yield pending, any_in_range(repaired_lines, pending.line, math.inf)


def any_in_range(lines: deque[int], start: int, end: float) -> bool:
    """Whether any of the ascending `lines` lies in [start, end); those before `end` are dropped from `lines`."""
    found = False
    while lines and lines[0] < end:
        found |= lines.popleft() >= start
    return found


def read_dumps(
    paths: Iterable[str | Path], format: str | None = None, max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
    key: Callable[[Paper], str] = dedupe_key,
) -> DumpReading:
    """Read dump files (`-`: standard input; format detected per file unless given), yielding Papers distinct by `key`
    in input order; entries longer than `max_entry_bytes` are skipped and counted."""
    return DumpReading(paths, format, max_entry_bytes, key)
