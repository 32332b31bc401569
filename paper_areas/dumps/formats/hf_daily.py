"""The Hugging Face daily-papers page saved as text: title, abstract, then an optional author block."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from paper_areas.dumps.records import Entry, Skip

HEADER_LINES = frozenset({"new", "get trending papers in your email inbox!", "subscribe", "daily papers",
                          "byak and the research community"})
SEPARATOR = "·"
AUTHOR_COUNT = re.compile(r"•\s*\d+\s+authors?")
DATE_LINE = re.compile(r"([A-Z][a-z]{2,8}\.? \d{1,2}(?:, \d{4})?)(?:\s+\d+)?")  # date, then optional upvotes


def paragraphs(lines: Iterable[tuple[int, str]], max_chars: int) -> Iterator[tuple[int, list[str]]]:
    """Runs of non-blank lines (stripped) with the number of their first line; lines after the first `max_chars`
    characters of a run are dropped."""
    start, block, size = 0, [], 0
    for number, line in lines:
        if text := line.strip():
            if not block:
                start, size = number, 0
            if size <= max_chars:
                block.append(text)
                size += len(text)
        elif block:
            yield start, block
            block = []
    if block:
        yield start, block


def is_author_block(block: list[str]) -> bool:
    """The `• N authors` / `·` / date paragraph that closes an entry."""
    return any(line == SEPARATOR or AUTHOR_COUNT.fullmatch(line) for line in block)


def block_date(block: list[str]) -> str:
    """The date text after the separator, without the upvote count ("" when there is none)."""
    after = block[block.index(SEPARATOR) + 1 :] if SEPARATOR in block else []
    if not after:
        return ""
    match = DATE_LINE.fullmatch(after[0])
    return match[1] if match else after[0]


def is_header(block: list[str]) -> bool:
    """A page-header paragraph (`Daily Papers`, the page's date, ...), seen before the first entry."""
    return len(block) == 1 and (block[0].casefold() in HEADER_LINES or DATE_LINE.fullmatch(block[0]) is not None)


def parse(lines: Iterable[tuple[int, str]], max_entry_chars: int) -> Iterator[Entry | Skip]:
    """Title and abstract paragraphs pair up; an author block, or the next title, closes the entry."""
    entry: Entry | None = None
    in_header = True
    for number, block in paragraphs(lines, max_entry_chars):
        if in_header and is_header(block):
            continue
        in_header = False
        if is_author_block(block):
            if entry is None:
                yield Skip(number, "author block without title and abstract")
            else:
                entry.date_text = block_date(block)
                yield entry
                entry = None
        elif entry is None:
            entry = Entry(number, title=" ".join(block))
        elif not entry.abstract:
            entry.abstract = " ".join(block)
        else:
            yield entry
            entry = Entry(number, title=" ".join(block))
    if entry is not None:
        yield entry
