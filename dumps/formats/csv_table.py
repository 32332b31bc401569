"""CSV with a header row naming (case-insensitively) the title and abstract columns."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from dumps.errors import FormatProblem
from dumps.formats.jsonl import record_entry
from dumps.records import Entry, Skip


def parse(lines: Iterable[tuple[int, str]], max_entry_chars: int) -> Iterator[Entry | Skip]:
    """One entry per data row; fields are looked up by lower-cased header name, as in the JSONL format. A quoted
    field spanning lines is bounded by `csv.field_size_limit()` (longer is a fatal problem)."""
    reader = csv.reader(line + "\n" for _, line in lines)
    try:
        header = [name.strip().casefold() for name in next(reader, [])]
        if "title" not in header and "abstract" not in header:
            raise FormatProblem(1, "CSV header names no 'title' or 'abstract' column")
        previous_end = reader.line_num
        for row in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                yield Skip(start, "row length differs from the header's")
                continue
            yield record_entry(dict(zip(header, row, strict=True)), start)
    except csv.Error as error:
        raise FormatProblem(reader.line_num, f"unreadable CSV: {error}") from None
