"""Format parsers: each turns numbered lines into Entry records or Skip notes."""

from collections.abc import Callable, Iterable, Iterator

from dumps.formats import abstract_lines, conference, csv_table, hf_daily, jsonl
from dumps.records import Entry, Skip

Parser = Callable[[Iterable[tuple[int, str]]], Iterator[Entry | Skip]]

PARSERS: dict[str, Parser] = {
    "hf-daily": hf_daily.parse,
    "conference": conference.parse,
    "abstract-lines": abstract_lines.parse,
    "jsonl": jsonl.parse,
    "csv": csv_table.parse,
}
FORMATS: tuple[str, ...] = tuple(PARSERS)

__all__ = ["FORMATS", "PARSERS", "Parser"]
