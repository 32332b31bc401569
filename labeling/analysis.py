"""How good the LFs are: Snorkel's LF summary per LF, and vote coverage per area."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from snorkel.labeling import LFAnalysis

from labeling.embedding import EmbeddingLF
from labeling.label_model import covered
from labeling.lfs import ABSTAIN, KeywordLF

NamedLF = KeywordLF | EmbeddingLF  # what the analysis needs of an LF: its name and the area it votes


def lf_table(L: np.ndarray, lfs: Sequence[NamedLF], y: np.ndarray | None = None) -> pd.DataFrame:
    """One row per LF: name, area, polarity, coverage, overlaps, conflicts and, with gold `y`,
    correct, incorrect and emp_acc (NaN for an LF that never votes)."""
    L = np.asarray(L)
    analysis = LFAnalysis(L)
    with warnings.catch_warnings():  # scipy's dtype notice from inside LFAnalysis
        warnings.simplefilter("ignore", FutureWarning)
        table = pd.DataFrame({
            "name": [lf.name for lf in lfs],
            "area": [lf.area for lf in lfs],
            "polarity": analysis.lf_polarities(),
            "coverage": analysis.lf_coverages(),
            "overlaps": analysis.lf_overlaps(),
            "conflicts": analysis.lf_conflicts(),
        })
    if y is not None:
        y = np.asarray(y)[:, None]
        voted = L != ABSTAIN
        table["correct"] = (voted & (L == y)).sum(axis=0)
        table["incorrect"] = (voted & (L != y)).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            table["emp_acc"] = table["correct"] / (table["correct"] + table["incorrect"])
    return table


def area_coverage(L: np.ndarray, lfs: Sequence[NamedLF], area_names: Sequence[str],
                  y: np.ndarray | None = None) -> pd.DataFrame:
    """One row per area: its LFs, papers with a vote for it and their share and, with gold `y`, gold papers
    and the share of them with a vote for their area (`gold_recall`). The last row counts papers without votes."""
    L = np.asarray(L)
    n = len(L)
    rows = []
    for k, name in enumerate(area_names):
        voted = (L == k).any(axis=1)
        row = {"area": name, "lfs": sum(lf.area == k for lf in lfs), "papers": int(voted.sum()),
               "share": voted.mean() if n else 0.0}
        if y is not None:
            gold = np.asarray(y) == k
            row["gold"] = int(gold.sum())
            row["gold_recall"] = voted[gold].mean() if gold.any() else np.nan
        rows.append(row)
    uncovered = ~covered(L)
    rows.append({"area": "(no votes)", "lfs": 0, "papers": int(uncovered.sum()),
                 "share": uncovered.mean() if n else 0.0})
    return pd.DataFrame(rows)
