"""Format parsers: each turns numbered lines into Entry records or Skip notes.

A parser is called with the lines and `max_entry_chars`: an entry built from several lines stops growing soon after
it passes that length (it stays longer, so the reader skips it), which bounds memory whatever the input; a line
itself is bounded by the reader.
"""

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

__all__ = ["FORMATS", "PARSERS", "Parser"]
