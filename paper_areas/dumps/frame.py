"""Papers in consecutive lists, so that a big dump is worked through with bounded memory, and as a pandas DataFrame."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING

from paper_areas.dumps.records import Paper

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ("id", "title", "abstract", "authors", "date", "source", "label")


def chunks(papers: Iterable[Paper], size: int) -> Iterator[list[Paper]]:
    """Consecutive lists of `size` papers (the last may be shorter)."""
    iterator = iter(papers)
    while chunk := list(islice(iterator, size)):
        yield chunk


def papers_frame(papers: Iterable[Paper]) -> pd.DataFrame:
    """One row per paper with columns id, title, abstract, authors (list), date, source, label."""
    import pandas as pd  # here, so that reading dumps does not pay for importing pandas

    rows = ([getattr(paper, column) for column in COLUMNS] for paper in papers)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["authors"] = frame["authors"].map(list)
    return frame
