"""The end model served with its teacher: the labeller's posterior on a paper's keyword votes averaged into the end
model's probabilities, so that what the keywords know is not lost on a student that learnt it imperfectly."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from labeling import ABSTAIN, KeywordLF, Labeler, Taxonomy, apply_lfs, covered, keyword_lfs, load_taxonomy
from models.base import FineTuning, ProbabilisticClassifier, read_config, write_config
from models.wrappers import MODEL_FOLDER

TAXONOMY_FILE = "taxonomy.yaml"
LABELER_FILE = "labeler.joblib"


def teacher_of(classifier: ProbabilisticClassifier) -> TaughtClassifier | None:
    """The TaughtClassifier in `classifier`'s chain of wrappers (each holding the next as `.model`), if any."""
    while classifier is not None and not isinstance(classifier, TaughtClassifier):
        classifier = getattr(classifier, "model", None)
    return classifier


def averaged(student: np.ndarray, teacher: np.ndarray, voted: np.ndarray, weight: float) -> np.ndarray:
    """`(1 - weight) * student + weight * teacher` on the rows `voted`, the student's probabilities elsewhere."""
    served = student.copy()
    served[voted] = (1 - weight) * student[voted] + weight * teacher[voted]
    return served


class TaughtClassifier(ProbabilisticClassifier):
    """`(1 - weight) * model + weight * teacher` for a paper with at least one keyword vote, the end model alone for
    a paper without. The teacher is `labeler` (fitted on `n_votes` LF columns: the taxonomy's keyword LFs first, then
    any embedding LFs, which abstain here: they would need an encoder pass) applied to the paper's keyword votes."""

    KIND = "taught"

    def __init__(self, model: ProbabilisticClassifier, taxonomy: Taxonomy, labeler: Labeler, n_votes: int,
                 weight: float = 0.5):
        self.model, self.taxonomy, self.labeler, self.n_votes, self.weight = model, taxonomy, labeler, n_votes, weight

    @functools.cached_property
    def lfs(self) -> list[KeywordLF]:
        """The taxonomy's keyword LFs, built once (not on every chunk predicted)."""
        return keyword_lfs(self.taxonomy)

    @property
    def best_epoch_(self) -> int:
        return self.model.best_epoch_

    def fit(self, *args, **kwargs) -> TaughtClassifier:
        raise TypeError("a TaughtClassifier wraps fitted parts: fit the labeller and the end model, then wrap them")

    def fine_tune(self, frame: pd.DataFrame, targets: np.ndarray, settings: FineTuning,
                  progress: bool = False) -> TaughtClassifier:
        """Fine-tune the end model (the teacher's keyword LFs and labeller stay as fitted)."""
        self.model.fine_tune(frame, targets, settings, progress)
        return self

    def votes(self, frame: pd.DataFrame) -> np.ndarray:
        """The (N, n_votes) votes the teacher sees: the keyword LFs', then abstains for the embedding LFs."""
        keyword_votes = apply_lfs(self.lfs, frame.reindex(columns=["title", "abstract"]))  # either may be absent
        abstains = np.full((len(frame), self.n_votes - keyword_votes.shape[1]), ABSTAIN, dtype=keyword_votes.dtype)
        return np.concatenate([keyword_votes, abstains], axis=1)

    def parts(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The end model's (N, K) probabilities, the teacher's, and the mask of the papers the teacher votes on."""
        votes = self.votes(frame)
        return self.model.predict_proba(frame), self.labeler.predict_proba(votes), covered(votes)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return averaged(*self.parts(frame), self.weight)

    def evidence(self, frame: pd.DataFrame) -> list[str]:
        """Per paper, the keyword LFs that voted, by area (most votes first): `"slug: group, group; slug: group"`,
        empty for a paper without a vote."""
        votes = self.votes(frame)[:, : len(self.lfs)]
        explained = []
        for row in votes:
            groups: dict[int, list[str]] = {}
            for lf in (self.lfs[j] for j in np.flatnonzero(row != ABSTAIN)):
                groups.setdefault(lf.area, []).append(lf.group.group)
            ranked = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
            explained.append("; ".join(f"{self.taxonomy.areas[area].slug}: {', '.join(names)}"
                                       for area, names in ranked))
        return explained

    def save(self, directory: str | Path) -> Path:
        """The weight and vote count, the taxonomy file, the fitted labeller, and the end model in its own folder."""
        directory = write_config(directory, self.KIND, {"n_votes": self.n_votes, "weight": self.weight}, {})
        shutil.copyfile(self.taxonomy.path, directory / TAXONOMY_FILE)
        joblib.dump(self.labeler, directory / LABELER_FILE)
        self.model.save(directory / MODEL_FOLDER)
        return directory

    @classmethod
    def load(cls, directory: str | Path, load_model: Callable[[Path], ProbabilisticClassifier]) -> TaughtClassifier:
        """A model saved with `save`; `load_model` loads the end model's folder (whatever its kind)."""
        directory = Path(directory)
        _, params, _ = read_config(directory, cls.KIND)
        return cls(load_model(directory / MODEL_FOLDER), load_taxonomy(directory / TAXONOMY_FILE),
                   joblib.load(directory / LABELER_FILE), **params)
