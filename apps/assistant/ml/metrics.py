"""Classification metrics in plain Python: accuracy, macro-F1, the per-label report, the confusion matrix, and
the out-of-scope figures when the data has an ``oos`` label."""

from collections import Counter
from typing import Any

from apps.assistant.ml.config import OUT_OF_SCOPE


def classification_report(truth: list[str], predicted: list[str]) -> dict[str, Any]:
    if len(truth) != len(predicted) or not truth:
        raise ValueError("classification_report needs as many predictions as labels, and at least one")
    labels = sorted(set(truth) | set(predicted))
    pairs = Counter(zip(truth, predicted, strict=True))
    per_label = {}
    for label in labels:
        true_positive = pairs[(label, label)]
        support = sum(count for (actual, _), count in pairs.items() if actual == label)
        predicted_count = sum(count for (_, guess), count in pairs.items() if guess == label)
        precision = true_positive / predicted_count if predicted_count else 0.0
        recall = true_positive / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    scored = [label for label in labels if per_label[label]["support"]]
    report: dict[str, Any] = {
        "accuracy": sum(pairs[(label, label)] for label in labels) / len(truth),
        "macro_f1": sum(per_label[label]["f1"] for label in scored) / len(scored),
        "per_label": per_label,
        "labels": labels,
        "confusion": [[pairs[(actual, guess)] for guess in labels] for actual in labels],
        "n": len(truth),
    }
    if OUT_OF_SCOPE in truth:
        report.update(_out_of_scope_figures(truth, predicted))
    return report


def _out_of_scope_figures(truth: list[str], predicted: list[str]) -> dict[str, float]:
    in_scope = [(actual, guess) for actual, guess in zip(truth, predicted, strict=True) if actual != OUT_OF_SCOPE]
    flagged = [actual for actual, guess in zip(truth, predicted, strict=True) if guess == OUT_OF_SCOPE]
    oos_total = sum(actual == OUT_OF_SCOPE for actual in truth)
    return {
        "in_scope_accuracy": sum(actual == guess for actual, guess in in_scope) / len(in_scope) if in_scope else 0.0,
        "oos_recall": sum(actual == OUT_OF_SCOPE for actual in flagged) / oos_total,
        "oos_precision": sum(actual == OUT_OF_SCOPE for actual in flagged) / len(flagged) if flagged else 0.0,
    }
