"""A calibrated end model: a fitted model and a fitted calibrator over its probabilities, the model unchanged (in the
spirit of scikit-learn's CalibratedClassifierCV on a prefit model)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from models.base import ProbabilisticClassifier, read_config, write_config
from models.calibration import Calibrator, calibrator_from_state

MODEL_FOLDER = "model"


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
    def load(cls, directory: str | Path,
             load_model: Callable[[Path], ProbabilisticClassifier]) -> CalibratedClassifier:
        """A calibrated model saved with `save`; `load_model` loads the wrapped model's folder (whatever its kind)."""
        _, _, state = read_config(directory, cls.KIND)
        return cls(load_model(Path(directory) / MODEL_FOLDER), calibrator_from_state(state["calibrator"]))


def uncalibrated(classifier: ProbabilisticClassifier) -> ProbabilisticClassifier:
    """The model a CalibratedClassifier wraps, or `classifier` itself."""
    return classifier.model if isinstance(classifier, CalibratedClassifier) else classifier
