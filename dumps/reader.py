"""Opening dump files (plain or gzip), decoding them strictly, and streaming de-duplicated papers."""

from __future__ import annotations

import codecs
import gzip
import hashlib
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from dumps.detect import detect_format
from dumps.errors import DumpError, FormatProblem
from dumps.formats import FORMATS, PARSERS
from dumps.records import Paper, Skip, dedupe_key, to_paper

GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = codecs.BOM_UTF8
SNIFF_BYTES = 64 * 1024
READ_ERRORS = (OSError, EOFError, zlib.error)
NO_TEXT = "no title or abstract"
DEFAULT_MAX_ENTRY_BYTES = 1 << 20  # a paper's line, and its title plus abstract; abstracts are a few KB
_DRAIN_BYTES = 1 << 16


@dataclass
class FileReport:
    """What reading one file found: its format, the entries read and the entries skipped, by reason."""

    path: str
    format: str
    entries: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def describe(self) -> str:
        """`path: format, N entries, M skipped (k reason, ...)`."""
        reasons = ", ".join(f"{count} {reason}" for reason, count in self.skipped.most_common())
        return f"{self.path}: {self.format}, {self.entries} entries, {sum(self.skipped.values())} skipped" + (
            f" ({reasons})" if reasons else ""
        )


def read_failure(error: BaseException) -> str:
    """One-line reason for an I/O or decompression error."""
    return f"cannot read: {getattr(error, 'strerror', None) or error or type(error).__name__}"


def open_bytes(path: Path) -> BinaryIO:
    """The file's bytes, decompressed when it starts with the gzip magic number."""
    with path.open("rb") as probe:
        compressed = probe.read(len(GZIP_MAGIC)) == GZIP_MAGIC
    return gzip.open(path, "rb") if compressed else path.open("rb")


def read_start(path: Path) -> str:
    """The first SNIFF_BYTES of the file as text; raises DumpError for unreadable, empty or non-UTF-8 files."""
    try:
        with open_bytes(path) as stream:
            sample = stream.read(SNIFF_BYTES)
    except READ_ERRORS as error:
        raise DumpError(str(path), 1, read_failure(error)) from None
    if not sample.strip():
        raise DumpError(str(path), 1, "empty file")
    try:
        return codecs.getincrementaldecoder("utf-8-sig")().decode(sample, final=len(sample) < SNIFF_BYTES)
    except UnicodeDecodeError as error:
        raise DumpError(str(path), sample.count(b"\n", 0, error.start) + 1, "not UTF-8 text") from None


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


def numbered_lines(path: Path, max_line_bytes: int = DEFAULT_MAX_ENTRY_BYTES) -> Iterator[tuple[int, str | None]]:
    """(line number, text without the line break), decoded strictly; errors name the line. A line longer than
    `max_line_bytes` comes as (number, None)."""
    number = 0
    try:
        with open_bytes(path) as stream:
            for number, raw in enumerate(_bounded_lines(stream, max_line_bytes), 1):
                if raw is None:
                    yield number, None
                    continue
                if number == 1 and raw.startswith(UTF8_BOM):
                    raw = raw[len(UTF8_BOM) :]
                yield number, raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:  # raised while decoding line `number`
        raise DumpError(str(path), number, "not UTF-8 text") from None
    except READ_ERRORS as error:
        raise DumpError(str(path), number + 1, read_failure(error)) from None


class DumpReading:
    """The distinct papers of some dumps, produced lazily (iterate once), with per-file reports.

    An entry longer than `max_entry_bytes` (its line, or its title and abstract together) is skipped and counted.
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
        try:
            for item in PARSERS[format](self._lines(path, report), self.max_entry_bytes):
                if isinstance(item, Skip):
                    report.skipped[item.reason] += 1
                elif len(item.title) + len(item.abstract) > self.max_entry_bytes:
                    report.skipped[self.too_long] += 1
                elif (paper := to_paper(item, report.path)) is None:
                    report.skipped[NO_TEXT] += 1
                else:
                    report.entries += 1
                    yield paper
        except FormatProblem as problem:
            raise DumpError(report.path, problem.line, problem.reason) from None

    def _lines(self, path: Path, report: FileReport) -> Iterator[tuple[int, str]]:
        """The numbered lines of `path` for its parser; an over-long line is counted and passed on as blank."""
        for number, text in numbered_lines(path, self.max_entry_bytes):
            if text is None:
                report.skipped[self.too_long] += 1
            yield number, text or ""


def read_dumps(
    paths: Iterable[str | Path], format: str | None = None, max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES
) -> DumpReading:
    """Read dump files (format detected per file unless given), yielding distinct Papers in input order; entries
    longer than `max_entry_bytes` are skipped and counted."""
    return DumpReading(paths, format, max_entry_bytes)
