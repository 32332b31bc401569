"""Labelling functions from a YAML taxonomy (keyword and embedding LFs), a fast applier, the labellers (label model,
majority vote), LF analysis; names are imported on first use, so the LFs load without Snorkel's LabelModel (torch)."""

from __future__ import annotations

from paper_areas.core.lazy import lazy_names

__all__, __getattr__ = lazy_names(__name__, {
    "labeling.analysis": ["area_coverage", "lf_table"],
    "labeling.applier": ["apply_lfs"],
    "labeling.embedding": ["EmbeddingLFs", "nearest_anchor"],
    "labeling.label_model": ["Labeler", "LabelModelLabeler", "MIN_LABEL_MODEL_LFS", "MajorityVoteLabeler", "covered",
                             "estimated_class_balance", "gold_class_balance", "majority_areas", "vote_shares"],
    "labeling.lfs": ["ABSTAIN", "KeywordLF", "keyword_lfs"],
    "labeling.suggest": ["suggest_keywords"],
    "labeling.taxonomy": ["EmbeddingLFSpec", "Taxonomy", "TaxonomyError", "load_taxonomy", "parse_taxonomy"],
    "labeling.terms": ["compile_term"],
})
