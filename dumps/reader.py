"""Opening dump files (plain or gzip), decoding them leniently, and streaming de-duplicated papers."""

from __future__ import annotations

import codecs
import gzip
import hashlib
import math
import re
import zlib
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from dumps.detect import detect_format
from dumps.errors import DumpError, FormatProblem
from dumps.formats import FORMATS, PARSERS
from dumps.records import Entry, Paper, Skip, dedupe_key, to_paper

GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = codecs.BOM_UTF8
SNIFF_BYTES = 64 * 1024
READ_ERRORS = (OSError, EOFError, zlib.error)
NO_TEXT = "no title or abstract"
NOT_UTF8 = "with bytes not UTF-8 replaced by U+FFFD"
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


def open_bytes(path: Path) -> BinaryIO:
    """The file's bytes, decompressed when it starts with the gzip magic number."""
    with path.open("rb") as probe:
        compressed = probe.read(len(GZIP_MAGIC)) == GZIP_MAGIC
    return gzip.open(path, "rb") if compressed else path.open("rb")


def read_start(path: Path) -> str:
    """The first SNIFF_BYTES of the (decompressed) file as text, bytes not UTF-8 replaced by U+FFFD; raises
    DumpError for unreadable or empty files and for binary ones (see MAX_NOT_TEXT_SHARE), naming the line of the
    first byte that is not text."""
    try:
        with open_bytes(path) as stream:
            sample = stream.read(SNIFF_BYTES)
    except READ_ERRORS as error:
        raise DumpError(str(path), 1, read_failure(error)) from None
    if not sample.strip():
        raise DumpError(str(path), 1, "empty file")
    if (share := not_text_share(sample)) > MAX_NOT_TEXT_SHARE:
        line = sample.count(b"\n", 0, first_not_text(sample)) + 1
        raise DumpError(str(path), line, f"not UTF-8 text (binary?): {share:.0%} of its first {len(sample):,} "
                                         "bytes are control bytes or not UTF-8")
    decoder = codecs.getincrementaldecoder("utf-8-sig")("replace")
    return decoder.decode(sample, final=len(sample) < SNIFF_BYTES)


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
    path: Path, max_line_bytes: int = DEFAULT_MAX_ENTRY_BYTES
) -> Iterator[tuple[int, str | None, bool]]:
    """(line number, text without the line break, whether bytes not UTF-8 were replaced by U+FFFD in it); read
    errors name the line. A line longer than `max_line_bytes` comes as (number, None, False)."""
    number = 0
    try:
        with open_bytes(path) as stream:
            for number, raw in enumerate(_bounded_lines(stream, max_line_bytes), 1):
                if raw is None:
                    yield number, None, False
                    continue
                if number == 1 and raw.startswith(UTF8_BOM):
                    raw = raw[len(UTF8_BOM) :]
                text, repaired = decode_line(raw)
                yield number, text.rstrip("\r\n"), repaired
    except READ_ERRORS as error:
        raise DumpError(str(path), number + 1, read_failure(error)) from None


class DumpReading:
    """The distinct papers of some dumps, produced lazily (iterate once), with per-file reports.

    An entry longer than `max_entry_bytes` (its line, or its title and abstract together) is skipped and counted.
    An entry holding a line with bytes that are not UTF-8 is kept with U+FFFD in their place and counted as
    repaired (counted per entry: an entry spans its first line up to the next entry's first line; a line before
    the first entry, such as a CSV header, repairs no entry and is not counted).
    """

    def __init__(
        self, paths: Iterable[str | Path], format: str | None = None, max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES
    ) -> None:
        if format is not None and format not in FORMATS:
            raise ValueError(f"unknown dump format {format!r}; expected one of {', '.join(FORMATS)}")
        if max_entry_bytes < 1:
            raise ValueError(f"max_entry_bytes must be at least 1, got {max_entry_bytes}")
        self.paths = [Path(path) for path in paths]
        self.format = format
        self.max_entry_bytes = max_entry_bytes
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

    def _papers(self) -> Iterator[Paper]:
        seen: set[bytes] = set()
        for path in self.paths:
            for paper in self._read_file(path):
                key = hashlib.blake2b(dedupe_key(paper).encode("utf-8"), digest_size=16).digest()
                if key in seen:
                    self.duplicates += 1
                    continue
                seen.add(key)
                self.distinct += 1
                yield paper

    def _read_file(self, path: Path) -> Iterator[Paper]:
        sample = read_start(path)
        format = self.format or detect_format(sample)
        if format is None:
            raise DumpError(str(path), 1, f"cannot tell the format (use --format: {', '.join(FORMATS)})")
        report = FileReport(str(path), format)
        self.files.append(report)
        repaired_lines: deque[int] = deque()
        items = PARSERS[format](self._lines(path, report, repaired_lines), self.max_entry_bytes)
        try:
            for item, repaired in with_repairs(items, repaired_lines):
                if isinstance(item, Skip):
                    report.skipped[item.reason] += 1
                elif len(item.title) + len(item.abstract) > self.max_entry_bytes:
                    report.skipped[self.too_long] += 1
                elif (paper := to_paper(item, report.path)) is None:
                    report.skipped[NO_TEXT] += 1
                else:
                    report.entries += 1
                    if repaired:
                        report.repaired[NOT_UTF8] += 1
                    yield paper
        except FormatProblem as problem:
            raise DumpError(report.path, problem.line, problem.reason) from None

    def _lines(self, path: Path, report: FileReport, repaired_lines: deque[int]) -> Iterator[tuple[int, str]]:
        """The numbered lines of `path` for its parser; an over-long line is counted and passed on as blank, and
        the number of a line with bytes replaced by U+FFFD is appended to `repaired_lines`."""
        for number, text, repaired in numbered_lines(path, self.max_entry_bytes):
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
    paths: Iterable[str | Path], format: str | None = None, max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES
) -> DumpReading:
    """Read dump files (format detected per file unless given), yielding distinct Papers in input order; entries
    longer than `max_entry_bytes` are skipped and counted."""
    return DumpReading(paths, format, max_entry_bytes)
