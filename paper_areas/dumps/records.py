"""Paper records, what parsers yield, and normalisation: whitespace, invisible text, surrogates, dates, keys, ids."""

from __future__ import annotations

import calendar
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

_PUNCT_OR_SPACE = re.compile(r"[\W_]+")
_AUTHOR_SEPARATORS = re.compile(r"\s*(?:,|;|\band\b)\s*")
_MONTHS = {name.casefold(): number for number, name in enumerate(calendar.month_abbr) if name}
_MONTHS |= {name.casefold(): number for number, name in enumerate(calendar.month_name) if name}
_ISO_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?(?:$|[T ])")
_MONTH_DAY_YEAR = re.compile(r"([A-Za-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?$")
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})\s+([A-Za-z]+)\.?,?\s+(\d{4})$")
_MONTH_YEAR = re.compile(r"([A-Za-z]+)\.?,?\s+(\d{4})$")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# Unicode categories of characters that show nothing: controls, format characters (zero-width spaces and joiners,
# U+2060, byte-order marks, soft hyphens) and separators (whitespace).
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


@dataclass(frozen=True, slots=True)
class Paper:
    """One paper read from a dump."""

    id: str
    title: str
    abstract: str
    authors: tuple[str, ...]
    date: str | None
    date_text: str
    source: str
    label: str | None = None

    def to_dict(self) -> dict:
        """JSON-ready fields (authors as a list)."""
        return {name: getattr(self, name) for name in self.__slots__} | {"authors": list(self.authors)}


@dataclass(slots=True)
class Entry:
    """Raw fields of one entry as a format parser found them, before normalisation."""

    line: int
    title: str = ""
    abstract: str = ""
    authors: str | list[str] | tuple[str, ...] = field(default_factory=tuple)
    date_text: str = ""
    id: str | None = None
    label: str | None = None
    surrogates_replaced: bool = False  # lone surrogates (JSON escapes such as \ud800) were replaced by U+FFFD


@dataclass(frozen=True, slots=True)
class Skip:
    """A bad entry a parser passed over, with the reason it is counted under."""

    line: int
    reason: str


class FormatProblem(Exception):
    """Raised by a format parser for a fatal problem at ``line``; the reader adds the path."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


def collapse_whitespace(text: str) -> str:
    """Single spaces, no leading or trailing whitespace."""
    return " ".join(text.split())


def visible_text(text: str) -> str:
    """`text` with whitespace collapsed, or "" when no character of it shows (only zero-width characters, say)."""
    text = collapse_whitespace(text)
    if text[:1].isprintable() and text[:1] != " ":  # the usual case: it starts with a character that shows
        return text
    return text if any(unicodedata.category(char) not in _INVISIBLE_CATEGORIES for char in text) else ""


def replace_lone_surrogates(entry: Entry) -> None:
    """Replace the lone surrogates in the entry's text (a JSON escape such as \\ud800 without its pair: not Unicode
    text, and not writable as UTF-8) by U+FFFD, noting in `surrogates_replaced` whether there were any."""
    found = False
    for name in ("title", "abstract", "authors", "date_text", "id", "label"):
        value = getattr(entry, name)
        texts = [value] if isinstance(value, str) else list(value or ())  # authors may be a list of names
        if any(_LONE_SURROGATE.search(text) for text in texts):
            repaired = [_LONE_SURROGATE.sub("\ufffd", text) for text in texts]
            setattr(entry, name, repaired[0] if isinstance(value, str) else repaired)
            found = True
    entry.surrogates_replaced = found


def match_key(text: str) -> str:
    """Case-folded text with punctuation and whitespace runs collapsed: equal keys mean the same paper."""
    return _PUNCT_OR_SPACE.sub(" ", text.casefold()).strip()


def dedupe_key(paper: Paper) -> str:
    """The normalised title, or for an untitled paper the normalised abstract (prefixed so they never clash)."""
    return "t:" + match_key(paper.title) if paper.title else "a:" + match_key(paper.abstract)


def text_key(title: str, abstract: str) -> str:
    """The normalised abstract, or for a paper without one its normalised title (its `dedupe_key`): papers the reader
    keeps apart (other titles) may still share this key, and then add the same text twice to a training set."""
    return "a:" + match_key(abstract) if abstract else "t:" + match_key(title)


def stable_id(title: str, abstract: str) -> str:
    """A 16-hex-digit id that survives changes of case, punctuation and whitespace."""
    text = match_key(title) + "\n" + match_key(abstract)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def split_authors(authors: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Author names from a list, or from one string joined by commas, semicolons or 'and'."""
    names = _AUTHOR_SEPARATORS.split(authors) if isinstance(authors, str) else authors
    return tuple(name for name in map(collapse_whitespace, names) if name)


def _iso(year: int, month: int | None = None, day: int | None = None) -> str | None:
    """YYYY, YYYY-MM or YYYY-MM-DD (a day comes with a month), or None for a month or day that does not exist."""
    if month is not None and not 1 <= month <= 12:
        return None
    if day is not None and not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    return "-".join([f"{year:04d}", *(f"{part:02d}" for part in (month, day) if part is not None)])


def parse_date(text: str) -> str | None:
    """ISO date (YYYY-MM-DD, YYYY-MM or YYYY, as precise as the text) when the text gives a year, else None."""
    text = text.strip()
    if match := _ISO_DATE.match(text):
        year, month, day = (int(part) if part else None for part in match.groups())
        return _iso(year, month, day) if year else None
    if match := _MONTH_DAY_YEAR.match(text):
        month, day, year = _MONTHS.get(match[1].casefold()), int(match[2]), match[3]
        return _iso(int(year), month, day) if year and month else None
    if match := _DAY_MONTH_YEAR.match(text):
        month = _MONTHS.get(match[2].casefold())
        return _iso(int(match[3]), month, int(match[1])) if month else None
    if match := _MONTH_YEAR.match(text):
        month = _MONTHS.get(match[1].casefold())
        return _iso(int(match[2]), month) if month else None
    return None


def to_paper(entry: Entry, path: str) -> Paper | None:
    """The normalised Paper of an entry, or None when it has neither title nor abstract text that shows."""
    title = visible_text(entry.title)
    abstract = visible_text(entry.abstract)
    if not title and not abstract:
        return None
    date_text = collapse_whitespace(entry.date_text)
    return Paper(id=entry.id or stable_id(title, abstract), title=title, abstract=abstract,
                 authors=split_authors(entry.authors), date=parse_date(date_text) if date_text else None,
                 date_text=date_text, source=f"{path}:{entry.line}", label=entry.label or None)
