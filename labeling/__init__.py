"""Labelling functions from a YAML taxonomy (keyword and embedding LFs), a fast applier, the labellers (label model,
majority vote), LF analysis.

Names are imported on first use, so that `ABSTAIN` and the LFs load without Snorkel's label model (and torch).
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULES = {
    "labeling.analysis": ["area_coverage", "lf_table"],
    "labeling.applier": ["apply_lfs"],
    "labeling.embedding": ["EmbeddingLF", "EmbeddingLFs", "centroid_anchors", "nearest_anchor"],
    "labeling.label_model": ["Labeler", "LabelModelLabeler", "MIN_LABEL_MODEL_LFS", "MajorityVoteLabeler", "covered",
                             "estimated_class_balance", "gold_class_balance", "majority_areas", "vote_shares"],
    "labeling.lfs": ["ABSTAIN", "KeywordLF", "keyword_lfs"],
    "labeling.suggest": ["suggest_keywords"],
    "labeling.taxonomy": ["Area", "EmbeddingLFSpec", "KeywordGroup", "Taxonomy", "TaxonomyError", "load_taxonomy",
                          "parse_taxonomy"],
    "labeling.terms": ["Term", "compile_term"],
}
_MODULE_OF = {name: module for module, names in _MODULES.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'labeling' has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULE_OF[name]), name)
