"""CSV with a header row naming (case-insensitively) the title and abstract columns."""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterable, Iterator

from paper_areas.dumps.formats.jsonl import record_entry
from paper_areas.dumps.records import Entry, FormatProblem, Skip

Record = tuple[int, list[str]]  # the number of a record's first line, and its fields


def records(lines: Iterable[tuple[int, str]], max_entry_chars: int) -> Iterator[Record | Skip]:
    """The CSV records of `lines`, or a Skip for each quote left open.

    A record is read strictly: a quoted field that runs past its line and then breaks the CSV rules (text right
    after a closing quote, or the end of the file inside it) was opened by mistake, so the record's first line is
    skipped and the lines after it are read again; a one-line record breaking them before the end of the file is
    read leniently. A quoted field over `max_entry_chars` raises FormatProblem (the csv module's process-wide field
    size limit is raised to it if lower)."""
    csv.field_size_limit(max(csv.field_size_limit(), max_entry_chars + 1))
    upcoming = iter(lines)
    given_back: deque[tuple[int, str]] = deque()
    record: list[tuple[int, str]] = []  # the lines of the record being read
    ended = False
    first_left_open: int | None = None

    def feed() -> Iterator[str]:
        """The lines for the csv reader, those given back first; each is kept in `record`."""
        nonlocal ended
        chars = 0  # in `record`
        while (numbered := given_back.popleft() if given_back else next(upcoming, None)) is not None:
            chars = (chars if record else 0) + len(numbered[1]) + 1
            if record and chars > max_entry_chars:
                raise FormatProblem(record[0][0], f"quoted field running over {max_entry_chars:,} bytes "
                                                  "(a quote left open?)")
            record.append(numbered)
            yield numbered[1] + "\n"
        ended = True

    while True:
        try:
            for row in csv.reader(feed(), strict=True):
                start = record[0][0]
                record.clear()
                yield start, row
            return
        except csv.Error as error:
            (start, text), *rest = record
            record.clear()
            if not rest and not ended:  # read leniently: text after a closing quote is kept
                try:
                    yield start, next(csv.reader([text + "\n"]))
                except csv.Error:
                    yield Skip(start, f"unreadable CSV row: {error}")
                continue
            first_left_open = first_left_open or start
            yield Skip(start, f"quote left open (first on line {first_left_open})")
            given_back.extendleft(reversed(rest))
            ended = False


def parse(lines: Iterable[tuple[int, str]], max_entry_chars: int) -> Iterator[Entry | Skip]:
    """One entry per data row; fields are looked up by lower-cased header name, as in the JSONL format."""
    items = records(lines, max_entry_chars)
    first = next(items, None)
    if isinstance(first, Skip):
        raise FormatProblem(first.line, f"CSV header: {first.reason}")
    header = [name.strip().casefold() for name in first[1]] if first else []
    if "title" not in header and "abstract" not in header:
        raise FormatProblem(1, "CSV header names no 'title' or 'abstract' column")
    for item in items:
        if isinstance(item, Skip):
            yield item
            continue
        start, row = item
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield Skip(start, "row length differs from the header's")
            continue
        yield record_entry(dict(zip(header, row, strict=True)), start)
