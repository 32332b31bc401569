"""End models trained on probabilistic labels (fine-tuned MiniLM, TF-IDF, frozen-embedding logistic regression,
zero-shot) and their average, sentence embeddings, calibration, the MLflow pyfunc."""

from models.base import ProbabilisticClassifier
from models.calibration import (
    CALIBRATORS,
    NO_GOLD_MAPS,
    CalibrationChain,
    Calibrator,
    ClassOffsets,
    CrossFitted,
    TemperatureScaling,
    TopLabelIsotonic,
    TopLabelLogistic,
    cross_fitted_ece,
    new_calibrator,
)
from models.embedding_logistic import EmbeddingLogisticClassifier
from models.embeddings import SentenceEncoder
from models.ensemble import AveragedClassifier
from models.minilm import MiniLMClassifier
from models.pyfunc import PaperAreaModel, area_frame, load_classifier, log_pyfunc_model
from models.text import frame_texts, paper_text
from models.tfidf import TfidfClassifier
from models.zeroshot import ZeroShotClassifier

__all__ = [
    "CALIBRATORS",
    "AveragedClassifier",
    "CalibrationChain",
    "Calibrator",
    "ClassOffsets",
    "NO_GOLD_MAPS",
    "CrossFitted",
    "EmbeddingLogisticClassifier",
    "MiniLMClassifier",
    "PaperAreaModel",
    "ProbabilisticClassifier",
    "SentenceEncoder",
    "TemperatureScaling",
    "TfidfClassifier",
    "TopLabelIsotonic",
    "TopLabelLogistic",
    "ZeroShotClassifier",
    "area_frame",
    "cross_fitted_ece",
    "frame_texts",
    "load_classifier",
    "log_pyfunc_model",
    "new_calibrator",
    "paper_text",
]
