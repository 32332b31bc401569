"""Papers in consecutive lists, so that a big dump is worked through with bounded memory."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from paper_areas.dumps.records import Paper


def chunks(papers: Iterable[Paper], size: int) -> Iterator[list[Paper]]:
    """Consecutive lists of `size` papers (the last may be shorter)."""
    iterator = iter(papers)
    while chunk := list(islice(iterator, size)):
        yield chunk
