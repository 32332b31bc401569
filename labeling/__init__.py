"""Keyword labelling functions from a YAML taxonomy, a fast applier, Snorkel label model, LF analysis."""

from labeling.applier import apply_lfs
from labeling.lfs import KeywordLF, keyword_lfs
from labeling.taxonomy import Area, KeywordGroup, Taxonomy, TaxonomyError, load_taxonomy, parse_taxonomy
from labeling.terms import Term, compile_term

__all__ = [
    "Area",
    "KeywordGroup",
    "KeywordLF",
    "Taxonomy",
    "TaxonomyError",
    "Term",
    "apply_lfs",
    "compile_term",
    "keyword_lfs",
    "load_taxonomy",
    "parse_taxonomy",
]
