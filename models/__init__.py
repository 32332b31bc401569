"""End models trained on probabilistic labels: fine-tuned MiniLM, TF-IDF baseline, zero-shot, MLflow pyfunc."""

from models.base import ProbabilisticClassifier
from models.minilm import MiniLMClassifier
from models.pyfunc import PaperAreaModel, area_frame, load_classifier, log_pyfunc_model
from models.text import frame_texts, paper_text
from models.tfidf import TfidfClassifier
from models.zeroshot import ZeroShotClassifier

__all__ = [
    "MiniLMClassifier",
    "PaperAreaModel",
    "ProbabilisticClassifier",
    "TfidfClassifier",
    "ZeroShotClassifier",
    "area_frame",
    "frame_texts",
    "load_classifier",
    "log_pyfunc_model",
    "paper_text",
]
