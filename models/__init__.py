"""End models trained on probabilistic labels (fine-tuned MiniLM, TF-IDF, frozen-embedding logistic regression)
and their average, sentence embeddings, calibration, the MLflow pyfunc, the registry of end-model kinds. Names are
imported on first use, so that `models.registry` (the kinds a config may name) loads without torch."""

from __future__ import annotations

from paper_areas.core.lazy import lazy_names

__all__, __getattr__ = lazy_names(__name__, {
    "models.base": ["FineTuning", "ProbabilisticClassifier"],
    "models.calibration": ["CALIBRATORS", "CalibrationChain", "Calibrator", "ClassOffsets", "CrossFitted",
                           "TemperatureScaling", "TopLabelIsotonic", "TopLabelLogistic", "cross_fitted_ece",
                           "new_calibrator"],
    "models.embeddings": ["EmbeddingLogisticClassifier", "SentenceEncoder"],
    "models.minilm": ["MiniLMClassifier"],
    "models.pyfunc": ["PaperAreaModel", "area_frame", "log_pyfunc_model"],
    "models.registry": ["END_MODEL_KINDS", "NO_GOLD_MAPS", "build_end_model", "load_classifier", "no_gold_map"],
    "models.soft_logistic": ["TfidfClassifier"],
    "models.teacher": ["TaughtClassifier", "averaged", "teacher_of"],
    "models.text": ["frame_texts", "paper_text"],
    "models.wrappers": ["AveragedClassifier", "CalibratedClassifier", "uncalibrated"],
})
