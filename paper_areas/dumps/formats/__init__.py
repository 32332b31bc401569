"""Format parsers (numbered lines in, Entry records or Skip notes out), and guessing a dump's format from its start.

A parser is called with the lines and `max_entry_chars`: an entry built from several lines stops growing soon after
it passes that length (it stays longer, so the reader skips it), which bounds memory whatever the input; a line
itself is bounded by the reader.
"""

import csv
from collections.abc import Callable, Iterable, Iterator

from paper_areas.dumps.formats import abstract_lines, conference, csv_table, hf_daily, jsonl
from paper_areas.dumps.records import Entry, Skip

Parser = Callable[[Iterable[tuple[int, str]], int], Iterator[Entry | Skip]]

PARSERS: dict[str, Parser] = {
    "hf-daily": hf_daily.parse,
    "conference": conference.parse,
    "abstract-lines": abstract_lines.parse,
    "jsonl": jsonl.parse,
    "csv": csv_table.parse,
}
FORMATS: tuple[str, ...] = tuple(PARSERS)
SNIFF_LINES = 200
HF_PAGE_LINES = frozenset({"daily papers", "get trending papers in your email inbox!"})


def is_csv_header(line: str) -> bool:
    """A comma-separated header naming a title or an abstract column."""
    names = {name.strip().casefold() for name in next(csv.reader([line]), [])}
    return len(names) > 1 and bool(names & {"title", "abstract"})


def is_hf_daily_line(line: str) -> bool:
    """A line only the daily-papers page has: its header, `• N authors` or the lone `·` separator."""
    return line == hf_daily.SEPARATOR or line.casefold() in HF_PAGE_LINES or bool(hf_daily.AUTHOR_COUNT.fullmatch(line))


def detect_format(sample: str) -> str | None:
    """The format name of the text ``sample`` (the start of a file), or None when nothing fits."""
    lines = [text for line in sample.splitlines()[:SNIFF_LINES] if (text := line.strip())]
    if not lines:
        return None
    first = lines[0]
    if first.startswith("{"):
        return "jsonl"
    if first[: len(abstract_lines.PREFIX)].casefold() == abstract_lines.PREFIX:
        return "abstract-lines"
    if is_csv_header(first):
        return "csv"
    if any(map(is_hf_daily_line, lines)):
        return "hf-daily"
    if any(conference.AUTHOR_SEPARATOR in line for line in lines):
        return "conference"
    return None
