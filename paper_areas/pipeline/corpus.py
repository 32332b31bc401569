"""The training corpus at any size: dumps read once in chunks, keyword votes for every paper (in worker processes
or on Spark), the papers' texts spilled to a temporary file (memory holds the votes and one chunk of papers)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import tempfile
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing import get_context
from typing import TextIO

import numpy as np
import pandas as pd

from labeling import KeywordLF, apply_lfs
from paper_areas.dumps import Paper, chunks, read_dumps
from paper_areas.dumps.progress import InputProgress
from paper_areas.dumps.records import text_key
from paper_areas.pipeline.data import DataError, Fingerprint

CHUNK_PAPERS = 20_000  # papers labelled per task locally
SPARK_CHUNK_PAPERS = 200_000  # papers per Spark job
SPILL_COLUMNS = ("id", "title", "abstract", "source")


class TextSpill:
    """Papers' id, title, abstract and source appended to an anonymous temporary file (one JSON line each, deleted
    when closed), read back by row number."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="paper-areas-spill-")
        self._starts: list[np.ndarray] = []
        self._end = 0

    def append(self, papers: Sequence[Paper]) -> None:
        lines = [json.dumps([getattr(paper, column) for column in SPILL_COLUMNS], ensure_ascii=False).encode() + b"\n"
                 for paper in papers]
        lengths = np.fromiter(map(len, lines), dtype=np.int64, count=len(lines))
        self._starts.append(self._end + np.cumsum(lengths) - lengths)
        self._file.seek(self._end)
        self._file.write(b"".join(lines))
        self._end += int(lengths.sum())

    def __len__(self) -> int:
        return sum(map(len, self._starts))

    def read(self, rows: np.ndarray) -> pd.DataFrame:
        """The papers at `rows` (in that order) as a frame with columns id, title, abstract, source."""
        starts = np.concatenate(self._starts) if self._starts else np.zeros(0, dtype=np.int64)
        records = []
        for start in starts[np.asarray(rows, dtype=np.int64)]:
            self._file.seek(int(start))
            records.append(json.loads(self._file.readline()))
        return pd.DataFrame(records, columns=list(SPILL_COLUMNS))

    def close(self) -> None:
        self._file.close()


@dataclass
class Corpus:
    """Every distinct paper of the dumps: keyword votes in memory, texts on disk."""

    votes: np.ndarray  # (N, M) keyword votes, int16, in reading order
    text_keys: np.ndarray  # (N,) uint64 hash of each paper's `text_key`: equal for papers with the same abstract
    spill: TextSpill
    fingerprint: str  # `pipeline.data.fingerprint` of all the papers (ids, titles, abstracts)
    summary: str  # the dump reader's per-file report

    def __len__(self) -> int:
        return len(self.votes)

    def papers(self, rows: np.ndarray) -> pd.DataFrame:
        return self.spill.read(rows)

    def distinct_texts(self) -> np.ndarray:
        """Sorted rows of the first paper of each abstract (a later paper with an abstract read before is left out)."""
        return np.sort(np.unique(self.text_keys, return_index=True)[1])

    def close(self) -> None:
        self.spill.close()


def read_corpus(paths: Sequence[str], lfs: Sequence[KeywordLF], engine: str = "local", master: str | None = None,
                stream: TextIO = sys.stderr) -> Corpus:
    """Read `paths` once, labelling each chunk with `lfs` (worker processes, or Spark with `engine="spark"`) while the
    next one is read. No paper at all raises DataError with the reader's summary."""
    reading = read_dumps(paths)
    spill, digest = TextSpill(), Fingerprint()
    progress = InputProgress(paths, stream, label="reading and labelling")
    size = SPARK_CHUNK_PAPERS if engine == "spark" else CHUNK_PAPERS

    def frames() -> Iterator[pd.DataFrame]:
        for chunk in chunks(reading, size):
            spill.append(chunk)
            frame = pd.DataFrame({column: [getattr(p, column) for p in chunk] for column in SPILL_COLUMNS})
            digest.update(frame)
            yield frame
            progress.update(len(chunk), chunk[-1].source)

    try:
        labelled = _spark_labels(frames(), lfs, master) if engine == "spark" else _local_labels(frames(), lfs)
        parts = [(votes.astype(np.int16), keys) for votes, keys in labelled]
    except BaseException:
        spill.close()
        raise
    finally:
        progress.close()
    if not reading.distinct:
        spill.close()
        raise DataError("no papers in " + "; ".join(reading.summary().splitlines()))
    votes, keys = zip(*parts, strict=True)
    return Corpus(np.concatenate(votes), np.concatenate(keys), spill, digest.hexdigest(), reading.summary())


def text_keys(frame: pd.DataFrame) -> np.ndarray:
    """A 64-bit hash of each paper's `text_key` (papers with the same normalised abstract share it)."""
    keys = (hashlib.blake2b(text_key(title, abstract).encode("utf-8"), digest_size=8).digest()
            for title, abstract in zip(frame["title"], frame["abstract"], strict=True))
    return np.fromiter((int.from_bytes(key, "little") for key in keys), dtype=np.uint64, count=len(frame))


def _labelled(lfs: Sequence[KeywordLF], frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """A frame's keyword votes and text keys (both computed where the frame is labelled, off the reading process)."""
    return apply_lfs(lfs, frame), text_keys(frame)


_WORKER_LFS: list[KeywordLF] = []


def _start_worker(lfs: list[KeywordLF]) -> None:
    """A label worker keeps the LFs and leaves Ctrl-C to the parent, which stops it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER_LFS[:] = lfs


def _label_in_worker(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return _labelled(_WORKER_LFS, frame)


def _local_labels(frames: Iterator[pd.DataFrame], lfs: Sequence[KeywordLF]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """`_labelled` of each frame, in order: in this process when there is one frame, else in one worker process per core
    with at most two frames a worker in flight (so memory stays bounded while this process reads on). Workers are
    stopped at once when reading or labelling fails or is interrupted."""
    first = next(frames, None)
    if first is None:
        return
    second = next(frames, None)
    if second is None:
        yield _labelled(lfs, first)
        return
    workers = max(1, min(os.cpu_count() or 1, 8))
    pool = get_context("fork").Pool(workers, initializer=_start_worker, initargs=(list(lfs),))
    try:
        pending = deque(pool.apply_async(_label_in_worker, (frame,)) for frame in (first, second))
        for frame in frames:
            pending.append(pool.apply_async(_label_in_worker, (frame,)))
            while len(pending) > 2 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
        pool.close()
    finally:
        pool.terminate()
        pool.join()


def _spark_labels(frames: Iterator[pd.DataFrame], lfs: Sequence[KeywordLF], master: str | None
                  ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Votes of each frame from Spark, text keys on the driver."""
    from labeling.spark import apply_lfs_spark  # Spark is an optional extra

    for frame in frames:
        yield apply_lfs_spark(lfs, frame, master), text_keys(frame)
