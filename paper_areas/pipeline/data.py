"""Papers for training and gold papers with their area indices, read through the dump reader."""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd

from labeling import Taxonomy
from models.evaluation import split_by_id
from paper_areas.core import UserError
from paper_areas.dumps import papers_frame, read_dumps


class DataError(UserError):
    """Dumps that leave nothing to train on or score; the message names the files and what was skipped."""


class GoldError(UserError):
    """A gold file whose labels do not fit the taxonomy; the message names file:line."""


@dataclass
class Gold:
    frame: pd.DataFrame
    y: np.ndarray  # area index of each gold paper
    salt: str = ""  # of the split into halves: hand labels, which may be papers of one half of a dev set, use another

    def fingerprint(self) -> str:
        """The digest of the gold papers and their labels (relabelled papers are other gold)."""
        return fingerprint(self.frame, self.y)

    def halves(self) -> np.ndarray:
        """Mask of half A (`models.evaluation.split_by_id` with this gold's salt): calibration is cross-fitted on
        the halves."""
        return split_by_id(self.frame["id"], self.salt)


def read_papers(paths: list[str], verbose: bool = True) -> pd.DataFrame:
    """All distinct papers of `paths` as a frame; not a single paper raises DataError with the reader's summary."""
    reading = read_dumps(paths)
    frame = papers_frame(reading)
    if not len(frame):
        raise DataError("no papers in " + "; ".join(reading.summary().splitlines()))
    if verbose:
        print(reading.summary(), file=sys.stderr)
    return frame


def read_gold(path: str, taxonomy: Taxonomy, verbose: bool = True) -> Gold:
    """Labelled papers of `path`; every label must be an area name (or slug) of `taxonomy`."""
    frame = read_papers([path], verbose=verbose)
    y = np.empty(len(frame), dtype=int)
    for i, (label, source) in enumerate(zip(frame["label"], frame["source"], strict=True)):
        if not label:
            raise GoldError(f"{source}: gold paper has no label")
        try:
            y[i] = taxonomy.index(label)
        except KeyError:
            raise GoldError(f"{source}: label {label!r} is not an area of taxonomy {taxonomy.name!r}") from None
    return Gold(frame=frame, y=y)


class Fingerprint:
    """A short digest of papers' ids and texts (and labels), fed frame by frame (the same for one frame or its rows
    in chunks)."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()

    def update(self, frame: pd.DataFrame, labels: np.ndarray | None = None) -> Fingerprint:
        self._sha.update(pd.util.hash_pandas_object(frame[["id", "title", "abstract"]], index=False).to_numpy())
        if labels is not None:
            self._sha.update(np.asarray(labels, dtype=np.int64).tobytes())
        return self

    def hexdigest(self) -> str:
        return self._sha.hexdigest()[:16]


def fingerprint(frame: pd.DataFrame, labels: np.ndarray | None = None) -> str:
    """The digest of a frame's papers (and labels), logged so runs on the same data can be matched."""
    return Fingerprint().update(frame, labels).hexdigest()
