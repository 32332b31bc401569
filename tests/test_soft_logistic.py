"""SoftmaxRegression (issue 11): the soft-label fit without replicated rows reaches the optimum of the objective
scikit-learn's LogisticRegression minimises on one weighted row per (paper, area)."""

from __future__ import annotations

import joblib
import numpy as np
import pandas as pd
import pytest
from scipy import optimize, sparse
from sklearn.linear_model import LogisticRegression

from models import TfidfClassifier, frame_texts
from models.soft_logistic import SoftmaxRegression, softmax_objective

TIGHT = 1e-8  # both fits converged far below the 1e-3 the probabilities are compared at


def random_problem(layout: str, n: int = 80, d: int = 12, k: int = 4, seed: int = 0):
    """Features (dense, or sparse CSR with ~40% non-zeros) and Dirichlet soft labels."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, d)) * (rng.random((n, d)) < 0.4)
    targets = rng.dirichlet(np.full(k, 0.5), size=n)
    return (sparse.csr_matrix(features) if layout == "sparse" else features), targets


def expanded_sklearn_fit(features, targets: np.ndarray, C: float) -> LogisticRegression:
    """The replicating fit before issue 11 (without its 1e-3 weight floor): one row per (paper, area)."""
    rows, areas = np.nonzero(targets > 0)
    return LogisticRegression(C=C, max_iter=5000, tol=TIGHT).fit(features[rows], areas,
                                                                 sample_weight=targets[rows, areas])


@pytest.mark.parametrize("layout", ["dense", "sparse"])
def test_the_soft_fit_reaches_the_optimum_of_sklearn_on_expanded_rows(layout):
    features, targets = random_problem(layout)
    fitted = SoftmaxRegression(C=3.0, tol=TIGHT).fit(features, targets)
    reference = expanded_sklearn_fit(features, targets, C=3.0)
    ours, theirs = fitted.predict_proba(features), reference.predict_proba(features)
    np.testing.assert_allclose(ours, theirs, atol=1e-3)
    assert (ours.argmax(axis=1) == theirs.argmax(axis=1)).all()
    np.testing.assert_allclose(fitted.coef_, reference.coef_, atol=1e-3)
    again = SoftmaxRegression(C=3.0, tol=TIGHT).fit(features, targets)  # deterministic
    np.testing.assert_array_equal(again.coef_, fitted.coef_)
    np.testing.assert_array_equal(again.intercept_, fitted.intercept_)


def test_sparse_and_dense_features_give_the_same_fit():
    features, targets = random_problem("sparse")
    from_sparse = SoftmaxRegression(C=3.0, tol=TIGHT).fit(features, targets)
    from_dense = SoftmaxRegression(C=3.0, tol=TIGHT).fit(features.toarray().astype(np.float32), targets)
    np.testing.assert_allclose(from_sparse.predict_proba(features), from_dense.predict_proba(features.toarray()),
                               atol=1e-6)


def test_one_hot_labels_give_sklearns_plain_fit():
    features, targets = random_problem("dense", seed=1)
    y = targets.argmax(axis=1)
    fitted = SoftmaxRegression(C=0.5, tol=TIGHT).fit(features, np.eye(4)[y])
    reference = LogisticRegression(C=0.5, max_iter=5000, tol=TIGHT).fit(features, y)
    np.testing.assert_allclose(fitted.predict_proba(features), reference.predict_proba(features), atol=1e-4)
    np.testing.assert_allclose(fitted.coef_, reference.coef_, atol=1e-4)
    # the unpenalised intercept is defined up to a constant shift (softmax ignores it)
    np.testing.assert_allclose(fitted.intercept_ - fitted.intercept_.mean(),
                               reference.intercept_ - reference.intercept_.mean(), atol=1e-4)


@pytest.mark.parametrize("layout", ["dense", "sparse"])
def test_the_gradient_is_the_objectives(layout):
    features, targets = random_problem(layout, n=30, d=5, k=3)
    targets[:5] *= 2.0  # rows weighted by their totals
    parameters = np.random.default_rng(2).normal(size=(5 + 1) * 3)

    def loss(p):
        return softmax_objective(p, features, targets, 2.0)[0]

    def gradient(p):
        return softmax_objective(p, features, targets, 2.0)[1]

    error = optimize.check_grad(loss, gradient, parameters)
    assert error < 1e-5 * np.linalg.norm(gradient(parameters))


def test_an_area_without_target_mass_gets_probability_zero():
    features, targets = random_problem("sparse")
    targets[:, 2] = 0.0
    targets /= targets.sum(axis=1, keepdims=True)
    fitted = SoftmaxRegression(C=3.0, tol=TIGHT).fit(features, targets)
    probabilities = fitted.predict_proba(features)
    assert (probabilities[:, 2] == 0).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    kept = [0, 1, 3]
    reference = expanded_sklearn_fit(features, targets[:, kept], C=3.0)
    np.testing.assert_allclose(probabilities[:, kept], reference.predict_proba(features), atol=1e-3)


PAPERS = pd.DataFrame({
    "title": ["Graph neural networks", "Message passing on graphs", "Protein folding", "Drug binding proteins",
              "Reward shaping", "Policy gradients for agents"],
    "abstract": ["Nodes and edges.", "Graph nodes.", "Protein structure.", "Protein ligands.", "Agents learn.",
                 "Agents and rewards."],
})


@pytest.mark.parametrize("areas", [[0, 1, 3], [1, 3]])
def test_a_model_saved_with_sklearns_logistic_regression_loads_with_the_same_predictions(tmp_path, areas):
    """The joblib of a model saved before issue 11 holds a LogisticRegression on the areas its labels named
    (multinomial, or binary for two): it loads, and predicts what it predicted then (0 for the other areas)."""
    y = np.resize(areas, len(PAPERS))
    classifier = TfidfClassifier(min_df=1, C=1.0).fit(PAPERS, np.eye(4)[y] * 0.8 + 0.05, progress=False)
    saved = classifier.save(tmp_path / "old")
    features = classifier.vectorizer_.transform(frame_texts(PAPERS))
    old = LogisticRegression(C=1.0).fit(features, y)
    joblib.dump((classifier.vectorizer_, old), saved / "tfidf.joblib")
    expected = np.zeros((len(PAPERS), 4))
    expected[:, old.classes_] = old.predict_proba(features)
    np.testing.assert_allclose(TfidfClassifier.load(saved).predict_proba(PAPERS), expected, atol=1e-12)
