"""A conference virtual-site listing: title line, authors joined by ` · `, abstract line."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator
from itertools import islice

from paper_areas.dumps.records import Entry

AUTHOR_SEPARATOR = " · "
HEADER = re.compile(r"(?:Poster|Oral|Spotlight)(?: Session \d+)?|Hall[e]? [A-Z0-9]+")
SENTENCE_END = re.compile(r"[.!?][\"')\]’”]*$")
MAX_TITLE_CHARS = 300
MAX_NAME_WORDS = 5
LOOKAHEAD = 2


def is_single_author(line: str) -> bool:
    """A lone author's name: a few capitalised words without digits or sentence punctuation."""
    words = line.split()
    return (
        0 < len(words) <= MAX_NAME_WORDS
        and all(word[0].isupper() for word in words)
        and not any(char.isdigit() or char in ":;?!" for char in line)
    )


def starts_entry(line: str, following: list[str]) -> bool:
    """Whether ``line`` is a title: the next line holds the authors."""
    if not following:
        return False
    if AUTHOR_SEPARATOR in following[0]:
        return True
    return (
        len(line) <= MAX_TITLE_CHARS
        and not SENTENCE_END.search(line)
        and is_single_author(following[0])
        and not (len(following) > 1 and AUTHOR_SEPARATOR in following[1])
    )


def continues(abstract: str, line: str) -> bool:
    """A line that carries on an unfinished abstract rather than starting another paper's."""
    return not SENTENCE_END.search(abstract) or line[0].islower()


def parse(lines: Iterable[tuple[int, str]], max_entry_chars: int) -> Iterator[Entry]:
    """Titles are recognised by the authors line after them; other lines are abstracts.

    A complete abstract followed by another one that does not carry it on is a separate, untitled entry (the site
    sometimes drops a poster's title and authors). An abstract keeps its first `max_entry_chars` characters and its
    latest line (whose end tells whether the next line carries it on)."""
    rows = ((number, text) for number, line in lines if (text := line.strip()) and not HEADER.fullmatch(text))
    window = deque(islice(rows, LOOKAHEAD + 1))
    entry: Entry | None = None
    while window:
        number, text = window.popleft()
        untitled = AUTHOR_SEPARATOR in text  # an authors line whose title is missing
        if untitled or starts_entry(text, [line for _, line in window]):
            if entry is not None:
                yield entry
            title, authors = ("", text) if untitled else (text, window.popleft()[1])
            entry = Entry(number, title=title, authors=authors.split(AUTHOR_SEPARATOR))
        elif entry is not None and (not entry.abstract or continues(entry.abstract, text)):
            entry.abstract = f"{entry.abstract[:max_entry_chars]} {text}"
        else:
            if entry is not None:
                yield entry
            entry = Entry(number, abstract=text)
        window.extend(islice(rows, LOOKAHEAD + 1 - len(window)))
    if entry is not None:
        yield entry

