"""Softness: a linear classifier of mobile vs immobile Li from radial structure functions,
scikit-learn style (Cubuk et al. 2015; Schoenholz et al., Nat. Phys. 12, 469 (2016); Chen et
al., ACS Energy Lett. 8, 1969 (2023) and Nat. Commun. 16, 1057 (2025), Eq. 20).

The softness of an ion is its signed distance to the hyperplane Σ_r W(r) G(i, r) − b = 0 in
the standardised feature space; positive = soft (mobile-like).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.preprocessing import StandardScaler


class SoftnessModel(ClassifierMixin, BaseEstimator):
    """Standardise features, then logistic regression with C chosen by stratified k-fold CV.

    ``fit(X, y)`` with y = 1 mobile, 0 immobile; ``decision_function`` / ``transform`` give the
    softness; ``predict`` the class; ``weights_`` the hyperplane normal in standardised units.
    """

    def __init__(self, Cs=(1e-3, 1e-2, 1e-1, 1.0, 10.0), cv: int = 5, seed: int = 0,
                 max_iter: int = 5000) -> None:
        self.Cs, self.cv, self.seed, self.max_iter = Cs, cv, seed, max_iter

    def fit(self, X, y):
        X = np.asarray(X, float)
        y = np.asarray(y, int)
        if set(np.unique(y)) - {0, 1}:
            raise ValueError("labels must be 0 (immobile) or 1 (mobile); drop the unlabelled (-1)")
        self.scaler_ = StandardScaler().fit(X)
        self.classifier_ = LogisticRegressionCV(
            Cs=list(self.Cs), cv=StratifiedKFold(self.cv, shuffle=True, random_state=self.seed),
            max_iter=self.max_iter, scoring="accuracy").fit(self.scaler_.transform(X), y)
        self.classes_ = self.classifier_.classes_
        self.C_ = float(self.classifier_.C_[0])
        coef = self.classifier_.coef_[0]
        self.norm_ = float(np.linalg.norm(coef))
        self.weights_ = coef / self.norm_
        self.intercept_ = float(self.classifier_.intercept_[0]) / self.norm_
        return self

    def decision_function(self, X) -> np.ndarray:
        """Softness: signed distance to the hyperplane (standardised units)."""
        return self.classifier_.decision_function(self.scaler_.transform(np.asarray(X, float))) / self.norm_

    def transform(self, X) -> np.ndarray:
        return self.decision_function(X)[:, None]

    def predict(self, X) -> np.ndarray:
        return self.classifier_.predict(self.scaler_.transform(np.asarray(X, float)))

    def weights_by_species(self, features) -> dict[str, np.ndarray]:
        """W(r) per neighbour species: the unit hyperplane normal in standardised features
        (the change of softness per standard deviation of G(r)), as the papers plot it."""
        w = self.weights_
        n = len(features.grid)
        return {s: w[k * n:(k + 1) * n] for k, s in enumerate(features.species)}

    def save(self, path: str | Path, **metadata) -> Path:
        import joblib

        path = Path(path)
        from ...provenance import atomic_path

        with atomic_path(path) as tmp:
            joblib.dump({"model": self, "metadata": metadata}, tmp)
        return path

    @staticmethod
    def load(path: str | Path) -> tuple["SoftnessModel", dict]:
        import joblib

        data = joblib.load(path)
        return data["model"], data["metadata"]


def train_softness(X: np.ndarray, labels: np.ndarray, test_size: float = 0.25, seed: int = 0,
                   **kwargs) -> SimpleNamespace:
    """Fit on a stratified training split of the labelled ions (labels −1 are dropped) and
    report accuracy on the held-out ions only, never on the training ions."""
    labelled = labels >= 0
    X, y = np.asarray(X)[labelled], np.asarray(labels)[labelled]
    if len(np.unique(y)) < 2:
        raise ValueError("both mobile and immobile ions are needed; adjust the thresholds")
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size, stratify=y,
                                                        random_state=seed)
    model = SoftnessModel(seed=seed, **kwargs).fit(X_train, y_train)
    return SimpleNamespace(model=model, train_accuracy=float(model.score(X_train, y_train)),
                           test_accuracy=float(model.score(X_test, y_test)), C=model.C_,
                           n_train=len(y_train), n_test=len(y_test),
                           chance=float(max(np.mean(y_test), 1 - np.mean(y_test))))


def scan(structures_and_centres, d_cum: np.ndarray, grid: dict, seed: int = 0) -> list[dict]:
    """Held-out accuracy over a grid of ``dr``, ``r_cutoff``, ``C`` and thresholds ``high`` /
    ``low`` (the papers' Figs. S27–S28). ``structures_and_centres`` is a list of (structure,
    centre indices) whose centres line up with ``d_cum``. Returns one row per combination."""
    from itertools import product

    from .features import RadialFeatures
    from .rearrangement import mobility_labels

    keys = ["dr", "r_cutoff", "C", "high", "low"]
    defaults = {"dr": 0.2, "r_cutoff": 10.0, "C": None, "high": None, "low": None}
    values = [grid.get(k, [defaults[k]]) for k in keys]
    rows, cache = [], {}
    for dr, r_cut, C, high, low in product(*values):
        if (dr, r_cut) not in cache:
            feats = RadialFeatures(dr=dr, r_cutoff=r_cut)
            cache[(dr, r_cut)] = np.vstack([feats.compute(s, c) for s, c in structures_and_centres])
        hi = high if high is not None else np.quantile(d_cum, 0.8)
        lo = low if low is not None else np.quantile(d_cum, 0.2)
        labels = mobility_labels(d_cum, hi, lo)
        fit = train_softness(cache[(dr, r_cut)], labels, seed=seed,
                             **({"Cs": [C]} if C is not None else {}))
        rows.append({"dr": dr, "r_cutoff": r_cut, "C": fit.C, "high": hi, "low": lo,
                     "train_accuracy": fit.train_accuracy, "test_accuracy": fit.test_accuracy,
                     "n_train": fit.n_train, "n_test": fit.n_test})
    return rows
