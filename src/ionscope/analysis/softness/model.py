"""Softness: a linear classifier of mobile vs immobile Li from radial structure functions,
scikit-learn style (Cubuk et al. 2015; Schoenholz et al., Nat. Phys. 12, 469 (2016); Chen et
al., ACS Energy Lett. 8, 1969 (2023) and Nat. Commun. 16, 1057 (2025), Eq. 20).

The softness of an ion is its signed distance to the hyperplane Σ_r W(r) G(i, r) − b = 0 in
the standardised feature space; positive = soft (mobile-like).
"""

from __future__ import annotations

import inspect
from itertools import product
from pathlib import Path
from types import SimpleNamespace

import joblib
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import (
    GroupShuffleSplit,
    StratifiedGroupKFold,
    StratifiedKFold,
    cross_val_score,
    train_test_split,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ...provenance import atomic_path
from .features import RadialFeatures
from .rearrangement import mobility_labels

# scikit-learn ≥ 1.9 asks for the plain L2 penalty and the simplified fitted attributes to be
# named (FutureWarnings otherwise); older versions have neither parameter
_PLAIN_L2 = ({"l1_ratios": (0.0,), "use_legacy_attributes": False}
             if "use_legacy_attributes" in inspect.signature(LogisticRegressionCV).parameters else {})


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
            max_iter=self.max_iter, scoring="accuracy", **_PLAIN_L2).fit(self.scaler_.transform(X), y)
        self.classes_ = self.classifier_.classes_
        self.C_ = float(np.ravel(self.classifier_.C_)[0])
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
        path = Path(path)

        with atomic_path(path) as tmp:
            joblib.dump({"model": self, "metadata": metadata}, tmp)
        return path

    @staticmethod
    def load(path: str | Path) -> tuple["SoftnessModel", dict]:
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


def select_softness(X: np.ndarray, d_cum: np.ndarray, groups: np.ndarray | None = None,
                    high_quantiles=(0.7, 0.8, 0.9), low_quantiles=(0.2, 0.3, 0.4),
                    Cs=(1e-3, 1e-2, 1e-1, 1.0, 10.0), cv: int = 4, test_size: float = 0.25,
                    seed: int = 0) -> SimpleNamespace:
    """One hyperplane with its mobility thresholds and C chosen by a scan (the papers' Figs.
    S27–S28), the way Schoenholz et al. (2016) and Chen et al. (2025) train softness.

    Samples are Li environments (rows of ``X``) with their D_cum; ``groups`` names the ion of
    each sample (default: every sample its own ion). A ``test_size`` fraction of the ions is held
    out first. On the training ions only, every pair of D_cum quantiles (mobile above
    ``high_quantiles``, immobile below ``low_quantiles``) and every C is scored by the balanced
    accuracy of grouped, stratified ``cv``-fold cross-validation (no ion in two folds; balanced,
    so that chance is 0.5 whatever the thresholds). The best thresholds (absolute D_cum, Å) and C
    are refitted on all training ions and scored once on the held-out ions, never seen in training
    or in the scan."""
    X, d_cum = np.asarray(X, float), np.asarray(d_cum, float)
    groups = np.arange(len(d_cum)) if groups is None else np.asarray(groups)
    train, test = next(GroupShuffleSplit(1, test_size=test_size, random_state=seed)
                       .split(X, groups=groups))
    rows = []
    for hq, lq in product(high_quantiles, low_quantiles):
        high, low = np.quantile(d_cum[train], [hq, lq])
        if lq >= hq or low >= high:
            continue
        y = mobility_labels(d_cum[train], high, low)
        keep = y >= 0
        if min(np.sum(y == 0), np.sum(y == 1)) < cv:
            continue
        folds = StratifiedGroupKFold(cv, shuffle=True, random_state=seed)
        for C in Cs:
            pipe = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000))
            score = cross_val_score(pipe, X[train][keep], y[keep], groups=groups[train][keep],
                                    cv=folds, scoring="balanced_accuracy")
            rows.append({"high_quantile": hq, "low_quantile": lq, "high": float(high),
                         "low": float(low), "C": C, "cv_balanced_accuracy": float(score.mean()),
                         "cv_balanced_accuracy_std": float(score.std()),
                         "n_labelled": int(keep.sum())})
    if not rows:
        raise ValueError(f"no threshold pair leaves {cv} mobile and {cv} immobile training ions; "
                         "a longer or larger trajectory is needed")
    best = max(rows, key=lambda r: r["cv_balanced_accuracy"])
    labels = mobility_labels(d_cum, best["high"], best["low"])
    fit_rows, test_rows = train[labels[train] >= 0], test[labels[test] >= 0]
    if len(np.unique(labels[test_rows])) < 2:
        raise ValueError("the held-out ions hold only one class; a larger system is needed")
    model = SoftnessModel(Cs=[best["C"]], cv=cv, seed=seed).fit(X[fit_rows], labels[fit_rows])
    y_test = labels[test_rows]
    predicted = model.predict(X[test_rows])
    return SimpleNamespace(
        model=model, high=best["high"], low=best["low"], high_quantile=best["high_quantile"],
        low_quantile=best["low_quantile"], C=best["C"], cv_balanced_accuracy=best["cv_balanced_accuracy"],
        train_accuracy=float(model.score(X[fit_rows], labels[fit_rows])),
        test_accuracy=float(np.mean(predicted == y_test)),
        test_balanced_accuracy=float(balanced_accuracy_score(y_test, predicted)),
        chance=float(max(np.mean(y_test), 1 - np.mean(y_test))),
        n_train=len(fit_rows), n_test=len(test_rows), labels=labels,
        train_groups=np.unique(groups[train]), test_groups=np.unique(groups[test]),
        test_rows=test_rows, scan=rows)


def scan(structures_and_centres, d_cum: np.ndarray, grid: dict, seed: int = 0) -> list[dict]:
    """Held-out accuracy over a grid of ``dr``, ``r_cutoff``, ``C`` and thresholds ``high`` /
    ``low`` (the papers' Figs. S27–S28). ``structures_and_centres`` is a list of (structure,
    centre indices) whose centres line up with ``d_cum``. Returns one row per combination."""
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
