"""End models trained on probabilistic labels (fine-tuned MiniLM, TF-IDF, frozen-embedding logistic regression,
zero-shot) and their average, sentence embeddings, calibration, the MLflow pyfunc, the registry of end-model kinds.

Names are imported on first use, so that `models.registry` (the kinds a config may name) loads without torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULES = {
    "models.base": ["ProbabilisticClassifier"],
    "models.calibrated": ["CalibratedClassifier", "uncalibrated"],
    "models.calibration": ["CALIBRATORS", "CalibrationChain", "Calibrator", "ClassOffsets", "CrossFitted",
                           "TemperatureScaling", "TopLabelIsotonic", "TopLabelLogistic", "cross_fitted_ece",
                           "new_calibrator"],
    "models.embedding_logistic": ["EmbeddingLogisticClassifier"],
    "models.embeddings": ["SentenceEncoder"],
    "models.ensemble": ["AveragedClassifier"],
    "models.minilm": ["MiniLMClassifier"],
    "models.pyfunc": ["PaperAreaModel", "area_frame", "log_pyfunc_model"],
    "models.registry": ["END_MODEL_KINDS", "NO_GOLD_MAPS", "build_end_model", "load_classifier", "no_gold_map"],
    "models.text": ["frame_texts", "paper_text"],
    "models.tfidf": ["TfidfClassifier"],
    "models.zeroshot": ["ZeroShotClassifier"],
}
_MODULE_OF = {name: module for module, names in _MODULES.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'models' has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULE_OF[name]), name)
