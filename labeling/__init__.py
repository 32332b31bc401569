"""Keyword labelling functions from a YAML taxonomy, a fast applier, Snorkel label model, LF analysis."""

from labeling.analysis import area_coverage, lf_table
from labeling.applier import apply_lfs
from labeling.label_model import WeakLabeler, covered, gold_class_balance
from labeling.lfs import KeywordLF, keyword_lfs
from labeling.suggest import suggest_keywords
from labeling.taxonomy import Area, KeywordGroup, Taxonomy, TaxonomyError, load_taxonomy, parse_taxonomy
from labeling.terms import Term, compile_term

__all__ = [
    "Area",
    "KeywordGroup",
    "KeywordLF",
    "Taxonomy",
    "TaxonomyError",
    "Term",
    "WeakLabeler",
    "apply_lfs",
    "area_coverage",
    "compile_term",
    "covered",
    "gold_class_balance",
    "keyword_lfs",
    "lf_table",
    "load_taxonomy",
    "parse_taxonomy",
    "suggest_keywords",
]
