"""Averaged end models: views of the text trained on the same labels, served as one model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from models.base import EpochCallback, EvalSet, ProbabilisticClassifier, read_config, write_config

MEMBERS_FOLDER = "members"


class AveragedClassifier(ProbabilisticClassifier):
    """The mean of its members' probabilities, each member fitted on the same papers and soft labels.

    The first member is the main one: only it is scored on the eval set per epoch (keeping its best epoch) and
    reports epochs to `on_epoch`.
    """

    KIND = "average"

    def __init__(self, members: list[ProbabilisticClassifier]):
        self.members = members

    @property
    def best_epoch_(self) -> int:
        return self.members[0].best_epoch_

    def fit(self, frame: pd.DataFrame, soft_labels: np.ndarray, eval_set: EvalSet | None = None,
            on_epoch: EpochCallback | None = None, progress: bool = True) -> AveragedClassifier:
        """Fit every member on `frame` and `soft_labels` (see `ProbabilisticClassifier.fit`), the main one first."""
        if len(self.members) < 2:
            raise ValueError(f"an average needs at least two members, got {len(self.members)}")
        main, *others = self.members
        main.fit(frame, soft_labels, eval_set=eval_set, on_epoch=on_epoch, progress=progress)
        for member in others:
            member.fit(frame, soft_labels, progress=progress)
        return self

    def member_probabilities(self, frame: pd.DataFrame) -> list[np.ndarray]:
        """Each member's (N, K) area probabilities, in member order."""
        return [member.predict_proba(frame) for member in self.members]

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return np.mean(self.member_probabilities(frame), axis=0)

    def save(self, directory: str | Path) -> Path:
        """The ensemble's config, and each member saved in its own folder under `members/`."""
        directory = write_config(directory, self.KIND, {"members": len(self.members)}, {})
        for i, member in enumerate(self.members):
            member.save(directory / MEMBERS_FOLDER / str(i))
        return directory

    @classmethod
    def load(cls, directory: str | Path, load_member: Callable[[Path], ProbabilisticClassifier]) -> AveragedClassifier:
        """An ensemble saved with `save`; `load_member` loads one member's folder (whatever its kind)."""
        _, params, _ = read_config(directory, cls.KIND)
        members = [load_member(Path(directory) / MEMBERS_FOLDER / str(i)) for i in range(int(params["members"]))]
        return cls(members)
