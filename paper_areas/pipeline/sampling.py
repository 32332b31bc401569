"""The end model's sample of a big corpus: stratified by weak label, so that small areas keep their papers."""

from __future__ import annotations

import math

import numpy as np

FLOOR_SHARE = 0.25  # at most this share of a sample is spread equally over the strata before the proportional rest


def stratum_quotas(sizes: np.ndarray, total: int) -> np.ndarray:
    """How many of each stratum's `sizes` papers a sample of `total` keeps: every stratum first keeps up to an
    equal floor (FLOOR_SHARE of the sample shared out), the rest goes proportionally to the papers left (largest
    remainders), so a stratum of a few papers keeps them all and big strata keep their proportions."""
    sizes = np.asarray(sizes, dtype=np.int64)
    if total >= sizes.sum():
        return sizes.copy()
    strata = int((sizes > 0).sum())
    floor = np.minimum(sizes, math.floor(FLOOR_SHARE * total / max(strata, 1)))
    left, rest = sizes - floor, total - int(floor.sum())
    exact = rest * left / left.sum()
    extra = np.floor(exact).astype(np.int64)
    shortfall = rest - int(extra.sum())
    extra[np.argsort(extra - exact, kind="stable")[:shortfall]] += 1  # largest remainders first
    return floor + extra


def stratified_sample(strata: np.ndarray, total: int | None, seed: int = 0) -> np.ndarray:
    """Sorted row indices of a sample of at most `total` rows (None: all), each stratum (e.g. a paper's
    majority-vote area, -1 without votes) sampled uniformly to its `stratum_quotas` share."""
    strata = np.asarray(strata)
    if total is None or total >= len(strata):
        return np.arange(len(strata))
    values, inverse = np.unique(strata, return_inverse=True)
    quotas = stratum_quotas(np.bincount(inverse, minlength=len(values)), total)
    rng = np.random.default_rng(seed)
    chosen = [rng.choice(np.flatnonzero(inverse == k), size=quota, replace=False)
              for k, quota in enumerate(quotas) if quota]
    return np.sort(np.concatenate(chosen))
