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


# --- Satisfaction: the USS paper's figures (Sun et al. 2021) on ratings 1-5 ----------------------------------

SATISFACTION_CLASSES = (1, 2, 3, 4, 5)
DISSATISFIED_BELOW = 3  # 'rating < 3': the class the paper's F1 is about


def _check_pairs(truth: list, predicted: list) -> None:
    if len(truth) != len(predicted) or not truth:
        raise ValueError("needs as many predictions as labels, and at least one")


def unweighted_average_recall(truth: list[int], predicted: list[int]) -> float:
    """The mean of the per-class recalls, over the classes present in ``truth`` (all five on USS)."""
    _check_pairs(truth, predicted)
    support = Counter(truth)
    hits = Counter(actual for actual, guess in zip(truth, predicted, strict=True) if actual == guess)
    return sum(hits[label] / count for label, count in support.items()) / len(support)


def cohen_kappa(truth: list[int], predicted: list[int]) -> float:
    """Unweighted Cohen's kappa; 0.0 when chance agreement is total (both sides one and the same class)."""
    _check_pairs(truth, predicted)
    total = len(truth)
    observed = sum(actual == guess for actual, guess in zip(truth, predicted, strict=True)) / total
    truth_counts, predicted_counts = Counter(truth), Counter(predicted)
    expected = sum(truth_counts[label] * predicted_counts[label] for label in truth_counts) / total**2
    return 0.0 if expected == 1 else (observed - expected) / (1 - expected)


def average_ranks(values: list[float]) -> list[float]:
    """1-based ranks; tied values share the mean of the ranks they span."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            ranks[order[position]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def spearman_rho(first: list[float], second: list[float]) -> float:
    """Pearson's correlation of the average ranks (ties handled exactly); 0.0 when either side is constant."""
    _check_pairs(first, second)
    ranks_a, ranks_b = average_ranks(first), average_ranks(second)
    mean_a, mean_b = sum(ranks_a) / len(ranks_a), sum(ranks_b) / len(ranks_b)
    covariance = sum((a - mean_a) * (b - mean_b) for a, b in zip(ranks_a, ranks_b, strict=True))
    spread_a = sum((a - mean_a) ** 2 for a in ranks_a)
    spread_b = sum((b - mean_b) ** 2 for b in ranks_b)
    return 0.0 if spread_a == 0 or spread_b == 0 else covariance / (spread_a * spread_b) ** 0.5


def f1_dissatisfied(truth: list[int], predicted: list[int], below: int = DISSATISFIED_BELOW) -> float:
    """Binary F1 of the positive class 'rating < ``below``' (dissatisfied: 1-2 against 3-5)."""
    _check_pairs(truth, predicted)
    pairs = [(actual < below, guess < below) for actual, guess in zip(truth, predicted, strict=True)]
    true_positive = sum(actual and guess for actual, guess in pairs)
    flagged, positive = sum(guess for _, guess in pairs), sum(actual for actual, _ in pairs)
    precision = true_positive / flagged if flagged else 0.0
    recall = true_positive / positive if positive else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def mean_absolute_error(truth: list[float], predicted: list[float]) -> float:
    _check_pairs(truth, predicted)
    return sum(abs(actual - guess) for actual, guess in zip(truth, predicted, strict=True)) / len(truth)


def satisfaction_report(truth: list[int], labels: list[int], scores: list[float]) -> dict[str, Any]:
    """The paper's figures for predicted ``labels`` (argmax classes): UAR, kappa, F1 of 'rating < 3'; Spearman's
    rho and MAE of the expected ``scores`` (the number the inbox shows), with rho of the labels beside it."""
    _check_pairs(truth, labels)
    _check_pairs(truth, scores)
    support = Counter(truth)
    pairs = Counter(zip(truth, labels, strict=True))
    hits = Counter({actual: count for (actual, guess), count in pairs.items() if actual == guess})
    return {
        "uar": unweighted_average_recall(truth, labels),
        "kappa": cohen_kappa(truth, labels),
        "rho": spearman_rho(scores, truth),
        "rho_label": spearman_rho(labels, truth),
        "f1_dissatisfied": f1_dissatisfied(truth, labels),
        "mae": mean_absolute_error(truth, scores),
        "accuracy": sum(hits.values()) / len(truth),
        "recall": {str(c): hits[c] / support[c] for c in SATISFACTION_CLASSES if support[c]},
        "support": {str(c): support[c] for c in SATISFACTION_CLASSES},
        "predicted": {str(c): labels.count(c) for c in SATISFACTION_CLASSES},
        "confusion": [[pairs[(actual, guess)] for guess in SATISFACTION_CLASSES] for actual in SATISFACTION_CLASSES],
        "n": len(truth),
    }
