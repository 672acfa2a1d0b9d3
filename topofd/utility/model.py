"""The one fixed cell-type classifier of the utility scores and its F1.

Model: scikit-learn's ``HistGradientBoostingClassifier`` with fixed
hyper-parameters (:data:`PARAMS`: 100 boosting iterations, learning rate
0.1, at most 31 leaves, at least 20 cells a leaf, no early stopping, so no
random validation split) and ``class_weight="balanced"`` (BRCA-M2C is
72 % epithelial: unweighted, the model would hardly ever say lymphocyte).
It runs on one OpenMP thread: the gradient sums of a histogram tree are
reduced per thread, so the thread count would change the last digits, and
through tied splits the predictions; one thread keeps every number the same
whatever ``--jobs`` and the machine.

F1 per class (Table 2 of TopoCellGen, Sec. 5: cell classification F1):
``F1_c = 2 TP_c / (2 TP_c + FP_c + FN_c)`` from the confusion counts of the
test cells; macro F1 is their mean.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["PARAMS", "fit", "predict", "confusion", "f1_scores", "f1_leave_out"]

PARAMS: dict[str, Any] = dict(
    max_iter=100,
    learning_rate=0.1,
    max_leaf_nodes=31,
    min_samples_leaf=20,
    l2_regularization=0.0,
    early_stopping=False,
    class_weight="balanced",
)


def fit(X: np.ndarray, y: np.ndarray, seed: int) -> Any:
    """The fixed model (:data:`PARAMS`) fitted to features ``X`` and class labels ``y``."""
    # imported on use: scikit-learn costs ~0.4 s at start-up and only this metric needs the booster
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    model = HistGradientBoostingClassifier(**PARAMS, random_state=int(seed) % 2**32)
    with threadpool_limits(limits=1, user_api="openmp"):
        return model.fit(X, y)


def predict(model: Any, X: np.ndarray) -> np.ndarray:
    """Predicted class labels of the cells ``X`` (one OpenMP thread, as :func:`fit`)."""
    from threadpoolctl import threadpool_limits

    if not len(X):
        return np.zeros(0, np.int64)
    with threadpool_limits(limits=1, user_api="openmp"):
        return np.asarray(model.predict(X), np.int64)


def confusion(y: np.ndarray, pred: np.ndarray, groups: np.ndarray, n_groups: int, n_classes: int) -> np.ndarray:
    """Confusion counts per group: ``out[g, true, predicted]``."""
    flat = (np.asarray(groups) * n_classes + np.asarray(y)) * n_classes + np.asarray(pred)
    return np.bincount(flat, minlength=n_groups * n_classes * n_classes).reshape(n_groups, n_classes, n_classes)


def f1_scores(cm: np.ndarray) -> np.ndarray:
    """Per-class F1 of one ``(C, C)`` confusion matrix (rows true, columns
    predicted); NaN for a class neither present nor predicted."""
    cm = np.asarray(cm, float)
    tp = np.diag(cm)
    den = cm.sum(axis=0) + cm.sum(axis=1)  # 2TP + FP + FN
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, 2 * tp / den, np.nan)


def f1_leave_out(cms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(F1 per class, leave-one-group-out F1 (G, C))`` from the per-group
    confusion counts ``cms[g]`` (the replicates of a delete-a-group jackknife
    over test groups, the fitted model fixed)."""
    total = cms.sum(axis=0)
    return f1_scores(total), np.array([f1_scores(total - cms[g]) for g in range(len(cms))]).reshape(len(cms), -1)
