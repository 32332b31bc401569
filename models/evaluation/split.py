"""A fixed split of a labelled set in two halves by a hash of the paper id: choose on half A, report on half B."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np


def split_by_id(ids: Iterable[str]) -> np.ndarray:
    """Mask of half A: papers whose id's SHA-256 starts with an even byte (stable across runs and machines)."""
    return np.array([hashlib.sha256(str(paper_id).encode("utf-8")).digest()[0] % 2 == 0 for paper_id in ids],
                    dtype=bool)
