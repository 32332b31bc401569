"""One paper a line, ``Abstract:`` then the abstract; no titles."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from paper_areas.dumps.records import Entry, Skip

PREFIX = "abstract:"


def parse(lines: Iterable[tuple[int, str]], max_entry_chars: int) -> Iterator[Entry | Skip]:
    """Each ``Abstract:`` line is an untitled entry; other non-blank lines are skipped (an entry is one line)."""
    for number, line in lines:
        text = line.strip()
        if text[: len(PREFIX)].casefold() == PREFIX:
            yield Entry(number, abstract=text[len(PREFIX) :])
        elif text:
            yield Skip(number, "line without 'Abstract:'")
