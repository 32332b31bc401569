"""Labelling functions from a YAML taxonomy (keyword and embedding LFs), a fast applier, label model, LF analysis."""

from labeling.analysis import area_coverage, lf_table
from labeling.applier import apply_lfs
from labeling.embedding import EmbeddingLF, EmbeddingLFs, centroid_anchors, nearest_anchor
from labeling.label_model import (
    WeakLabeler,
    covered,
    estimated_class_balance,
    gold_class_balance,
    majority_areas,
    vote_shares,
)
from labeling.lfs import KeywordLF, keyword_lfs
from labeling.suggest import suggest_keywords
from labeling.taxonomy import (
    Area,
    EmbeddingLFSpec,
    KeywordGroup,
    Taxonomy,
    TaxonomyError,
    load_taxonomy,
    parse_taxonomy,
)
from labeling.terms import Term, compile_term

__all__ = [
    "Area",
    "EmbeddingLF",
    "EmbeddingLFSpec",
    "EmbeddingLFs",
    "KeywordGroup",
    "KeywordLF",
    "Taxonomy",
    "TaxonomyError",
    "Term",
    "WeakLabeler",
    "apply_lfs",
    "area_coverage",
    "centroid_anchors",
    "compile_term",
    "covered",
    "estimated_class_balance",
    "gold_class_balance",
    "keyword_lfs",
    "lf_table",
    "load_taxonomy",
    "majority_areas",
    "nearest_anchor",
    "parse_taxonomy",
    "suggest_keywords",
    "vote_shares",
]
