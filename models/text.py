"""Model input text: the one place that turns a paper's title and abstract into the text a model reads."""

from __future__ import annotations

import math

import pandas as pd

TEXT_COLUMNS = ("title", "abstract")


class InputError(ValueError):
    """Model input that the caller must fix (not a string, no text column); the message names the row or columns."""


def paper_text(title: str, abstract: str) -> str:
    """Title, then abstract, as one text; either may be empty."""
    title, abstract = (title or "").strip(), (abstract or "").strip()
    if title and abstract and title[-1] not in ".?!:":
        title += "."
    return f"{title} {abstract}".strip()


def _cell(value: object, column: str, row: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if not isinstance(value, str):
        raise InputError(f"row {row}: {column!r} must be a string or empty, got {type(value).__name__}")
    return value


def frame_texts(frame: pd.DataFrame) -> list[str]:
    """Model texts of a frame with `title` and/or `abstract` columns (missing or None cells count as empty; other
    columns are ignored); no rows give no texts. Raises InputError for input of the wrong shape or type."""
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"expected a DataFrame with 'title' and 'abstract' columns, got {type(frame).__name__}")
    if not len(frame):
        return []
    if not set(TEXT_COLUMNS) & set(frame.columns):
        raise InputError(f"input needs a 'title' or 'abstract' column; got columns {list(frame.columns)}")
    columns = [[_cell(value, column, row) for row, value in enumerate(frame[column].tolist())]
               if column in frame.columns else [""] * len(frame) for column in TEXT_COLUMNS]
    return [paper_text(title, abstract) for title, abstract in zip(*columns, strict=True)]
