"""JSON Lines: one object a line with title/abstract, as in the arXiv metadata snapshot."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator

from paper_areas.dumps.records import Entry, Skip, replace_lone_surrogates

DATE_KEYS = ("date", "update_date")
LABEL_KEYS = ("label", "primary_area")
# A JSON escape of a UTF-16 surrogate: only a line holding one can decode to a lone surrogate (checked per line, so
# that the text of the others is not searched field by field).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class BadField(ValueError):
    """A field of an otherwise good record has the wrong type; the message is the skip reason."""


def text_field(record: dict, key: str) -> str:
    """The string value of ``key`` ("" when absent or null)."""
    value = record.get(key)
    if value is not None and not isinstance(value, str):
        raise BadField(f"'{key}' is not a string")
    return value or ""


def first_field(record: dict, keys: tuple[str, ...]) -> str:
    """The first non-empty string among ``keys``."""
    return next((value for key in keys if (value := text_field(record, key))), "")


def record_entry(record: dict, number: int) -> Entry | Skip:
    """The entry of one title/abstract record (a JSON object or a CSV row), or why it is skipped."""
    try:
        authors = record.get("authors") or []
        if not isinstance(authors, (str, list)) or not all(isinstance(name, str) for name in authors):
            raise BadField("'authors' is neither a string nor a list of strings")
        record_id = record.get("id")
        if record_id is not None and not isinstance(record_id, (str, int)):
            raise BadField("'id' is neither a string nor a number")
        return Entry(number, title=text_field(record, "title"), abstract=text_field(record, "abstract"),
                     authors=authors, date_text=first_field(record, DATE_KEYS),
                     id=None if record_id is None else str(record_id).strip() or None,
                     label=first_field(record, LABEL_KEYS).strip() or None)
    except BadField as error:
        return Skip(number, str(error))


def parse(lines: Iterable[tuple[int, str]], max_entry_chars: int) -> Iterator[Entry | Skip]:
    """One entry per non-blank line (so no longer than a line)."""
    for number, line in lines:
        if not line or line.isspace():
            continue
        try:
            record = json.loads(line)
        except RecursionError:
            yield Skip(number, "JSON nested too deeply")
        except ValueError:
            yield Skip(number, "invalid JSON")
        else:
            entry = record_entry(record, number) if isinstance(record, dict) else Skip(number, "JSON is not an object")
            if isinstance(entry, Entry) and _SURROGATE_ESCAPE.search(line):
                replace_lone_surrogates(entry)
            yield entry
