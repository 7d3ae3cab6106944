"""ROC curves of one trial's test predictions, for the ROC figure."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench._schema import TASKS, Task

_BINARY = TASKS[0]


def roc_curves(
    y_true: np.ndarray,
    y_score: np.ndarray,
    *,
    task: Task,
    class_names: Sequence[str] = (),
    max_classes: int = 10,
) -> list[tuple[str, float, np.ndarray, np.ndarray]]:
    """ROC curves of one trial's test predictions: ``(class, AUC, fpr, tpr)`` each.

    A binary task has one curve (``positive``); a multiclass or multilabel one has a
    one-vs-rest curve per class, the first ``max_classes``. Classes whose truth is all one
    value have no curve.

    Example:
        >>> rows = roc_curves(np.array([0, 1, 0, 1]), np.array([0.1, 0.9, 0.4, 0.6]),
        ...                   task="binary")
        >>> [(name, auc) for name, auc, _, _ in rows]
        [('positive', 1.0)]
    """
    from sklearn.metrics import roc_auc_score, roc_curve  # only the ROC figure needs it

    if task == _BINARY or y_score.ndim == 1:
        score = y_score if y_score.ndim == 1 else y_score[:, -1]
        truth = y_true if y_true.ndim == 1 else y_true[:, -1]
        if len(np.unique(truth)) < 2:
            return []
        fpr, tpr, _ = roc_curve(truth, score)
        return [("positive", float(roc_auc_score(truth, score)), fpr, tpr)]
    k = y_score.shape[1]
    onehot = y_true if y_true.ndim == 2 else (y_true[:, None] == np.arange(k)[None, :])
    names = list(class_names) if len(class_names) == k else [f"class {i}" for i in range(k)]
    rows = []
    for i in range(min(k, max_classes)):
        truth = onehot[:, i].astype(int)
        if len(np.unique(truth)) < 2:
            continue
        fpr, tpr, _ = roc_curve(truth, y_score[:, i])
        rows.append((names[i], float(roc_auc_score(truth, y_score[:, i])), fpr, tpr))
    return rows
