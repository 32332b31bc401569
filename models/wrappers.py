"""End models that wrap others: the average of several views of the text trained on the same labels, served as one
model, and a calibrated model (a fitted model and calibrator, in the spirit of scikit-learn's CalibratedClassifierCV
on a prefit model)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from models.base import EpochCallback, EvalSet, FineTuning, ProbabilisticClassifier, read_config, write_config
from models.calibration import Calibrator, calibrator_from_state

MEMBERS_FOLDER = "members"
MODEL_FOLDER = "model"


class AveragedClassifier(ProbabilisticClassifier):
    """The mean of its members' probabilities, each fitted on the same papers and soft labels; only the first (the
    main one) is scored on the eval set per epoch (keeping its best epoch) and reports epochs to `on_epoch`."""

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

    def fine_tune(self, frame: pd.DataFrame, targets: np.ndarray, settings: FineTuning,
                  progress: bool = False) -> AveragedClassifier:
        """Fine-tune every member (see `ProbabilisticClassifier.fine_tune`)."""
        for member in self.members:
            member.fine_tune(frame, targets, settings, progress)
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


class CalibratedClassifier(ProbabilisticClassifier):
    """`predict_proba` is `calibrator.transform` of `model.predict_proba`: a confidence map (keeps the top area),
    optionally after per-area offsets (which can move it). Both are fitted already; saving writes the model in its
    own folder and the calibrator's state beside it."""

    KIND = "calibrated"

    def __init__(self, model: ProbabilisticClassifier, calibrator: Calibrator):
        self.model = model
        self.calibrator = calibrator

    def fit(self, *args, **kwargs) -> CalibratedClassifier:
        raise TypeError("a CalibratedClassifier wraps fitted parts: fit the model, then the calibrator on its "
                        "probabilities, and wrap them")

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return self.calibrator.transform(self.model.predict_proba(frame))

    def save(self, directory: str | Path) -> Path:
        calibrator = {"kind": self.calibrator.KIND, **self.calibrator.state()}
        directory = write_config(directory, self.KIND, {}, {"calibrator": calibrator})
        self.model.save(directory / MODEL_FOLDER)
        return directory

    @classmethod
    def load(cls, directory: str | Path, load_model: Callable[[Path], ProbabilisticClassifier]) -> CalibratedClassifier:
        """A calibrated model saved with `save`; `load_model` loads the wrapped model's folder (whatever its kind)."""
        _, _, state = read_config(directory, cls.KIND)
        return cls(load_model(Path(directory) / MODEL_FOLDER), calibrator_from_state(state["calibrator"]))


def uncalibrated(classifier: ProbabilisticClassifier) -> ProbabilisticClassifier:
    """The model a CalibratedClassifier wraps, or `classifier` itself."""
    return classifier.model if isinstance(classifier, CalibratedClassifier) else classifier
