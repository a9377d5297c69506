"""``make bench-pii``: the PII redactor on labelled customer-service chat messages, per type, against targets.

Reads ``bench/data/pii_messages.jsonl`` (written by ``python -m bench.pii_data``, whose docstring is the
annotation guideline), runs ``pii_find`` on each message with that message's customer names, and scores exact
spans: a prediction is a true positive when its start, end and kind equal a gold span's. The overlap columns
count a prediction right when it overlaps a gold span of its kind, and a gold span found when a prediction of
its kind overlaps it (a span cut one character short is right there, wrong in the exact columns).

Targets, per type: precision ≥ 0.95 and recall ≥ 0.90 (exact). The exit status is 1 when a type misses one, so
the bench is a check. There is no published anchor for this set. Then come the messages without PII that got a
prediction anyway, the median time per message (median of ``--runs`` runs), and every miss and false alarm.
No database and no Django setup: the redactor is pure Python.
"""

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from apps.privacy.redaction import PII_TYPES, PiiSpan, pii_find

DATA = Path(__file__).resolve().parent / "data" / "pii_messages.jsonl"
PRECISION_TARGET, RECALL_TARGET = 0.95, 0.90
TARGET = f"target ≥ {PRECISION_TARGET:.2f} precision, ≥ {RECALL_TARGET:.2f} recall"
COMPARABLE = (
    "No published anchor exists for this set. The comparable class of tool is pattern recognizers with checksums "
    "and no NER model, such as Microsoft Presidio's regex recognizers; their figures are not quoted here."
)
Span = tuple[int, int, str]


def messages_load(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def predict(messages: list[dict]) -> list[list[PiiSpan]]:
    return [pii_find(message["text"], names=message["names"]) for message in messages]


def median_seconds_per_message(messages: list[dict], runs: int) -> tuple[float, list[float]]:
    """The median over runs of each run's median time per message; also each run's."""
    per_run = []
    for _ in range(runs):
        times = []
        for message in messages:
            started = time.perf_counter()
            pii_find(message["text"], names=message["names"])
            times.append(time.perf_counter() - started)
        per_run.append(statistics.median(times))
    return statistics.median(per_run), per_run


def overlaps(span: Span, others: list[Span]) -> bool:
    return any(span[0] < other[1] and other[0] < span[1] and span[2] == other[2] for other in others)


def score(messages: list[dict], predictions: list[list[PiiSpan]]) -> dict[str, Counter]:
    """Per kind: gold, predicted, tp, overlap_right (predictions), overlap_found (gold spans)."""
    counts: dict[str, Counter] = {kind: Counter() for kind in PII_TYPES}
    for message, predicted_spans in zip(messages, predictions, strict=True):
        gold = [(span["start"], span["end"], span["kind"]) for span in message["spans"]]
        predicted = [(span.start, span.end, span.kind) for span in predicted_spans]
        for span in gold:
            counts[span[2]].update(gold=1, tp=span in predicted, overlap_found=overlaps(span, predicted))
        for span in predicted:
            counts[span[2]].update(predicted=1, overlap_right=overlaps(span, gold))
    return counts


def ratio(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def rates(count: Counter) -> tuple[float, float, float, float]:
    """Exact precision and recall, then the overlap ones."""
    return (
        ratio(count["tp"], count["predicted"]), ratio(count["tp"], count["gold"]),
        ratio(count["overlap_right"], count["predicted"]), ratio(count["overlap_found"], count["gold"]),
    )  # fmt: skip


def type_row(name: str, count: Counter, target: str) -> tuple[str, ...]:
    precision, recall, overlap_precision, overlap_recall = rates(count)
    return (
        name, target, str(count["gold"]), str(count["tp"]), str(count["predicted"] - count["tp"]),
        str(count["gold"] - count["tp"]), f"{precision:.3f}", f"{recall:.3f}", f"{f1(precision, recall):.3f}",
        f"{overlap_precision:.3f} / {overlap_recall:.3f}",
    )  # fmt: skip


def below_target(count: Counter) -> bool:
    precision, recall, _, _ = rates(count)
    return precision < PRECISION_TARGET or recall < RECALL_TARGET


def markdown(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def type_table(counts: dict[str, Counter]) -> str:
    header = ("type", "anchor", "gold spans", "TP", "FP", "FN", "precision", "recall", "F1", "overlap P / R")
    rows = [type_row(kind, counts[kind], TARGET) for kind in PII_TYPES]
    rows.append(type_row("micro all", sum(counts.values(), Counter()), "—"))
    return markdown(header, rows)


def excerpt(text: str, start: int, end: int, width: int = 40) -> str:
    before, after = text[max(0, start - width) : start], text[end : end + width]
    marked = f"{'…' if start > width else ''}{before}⟦{text[start:end]}⟧{after}{'…' if end + width < len(text) else ''}"
    return marked.replace("\n", "⏎")


def errors(messages: list[dict], predictions: list[list[PiiSpan]]) -> list[str]:
    """One line per gold span missed and per prediction that is not gold, in file order."""
    lines = []
    for number, (message, predicted_spans) in enumerate(zip(messages, predictions, strict=True), start=1):
        gold = [(span["start"], span["end"], span["kind"]) for span in message["spans"]]
        predicted = [(span.start, span.end, span.kind) for span in predicted_spans]
        for start, end, kind in gold:
            if (start, end, kind) not in predicted:
                overlapping = [p for p in predicted if start < p[1] and p[0] < end]
                found = [p[2] if p[2] != kind else f"{kind} {p[0]}-{p[1]}" for p in overlapping]
                note = f" (predicted there: {', '.join(found)})" if found else ""
                lines.append(f"  miss        {kind:<11} line {number:>3}: {excerpt(message['text'], start, end)}{note}")
        for start, end, kind in predicted:
            if (start, end, kind) not in gold:
                under = [g[2] for g in gold if start < g[1] and g[0] < end]
                note = f" (gold there: {', '.join(under)})" if under else ""
                lines.append(f"  false alarm {kind:<11} line {number:>3}: {excerpt(message['text'], start, end)}{note}")
    return lines


def summary_table(
    messages: list[dict],
    predictions: list[list[PiiSpan]],
    counts: dict[str, Counter],
    timing: tuple[float, list[float]],
) -> str:
    pii_free = [i for i, message in enumerate(messages) if not message["spans"]]
    alarmed = sum(bool(predictions[i]) for i in pii_free)
    median, per_run = timing
    fewest = min(PII_TYPES, key=lambda kind: counts[kind]["gold"])
    at_target = sum(not below_target(counts[kind]) for kind in PII_TYPES)
    rows = [
        ("labelled messages (without PII)", "≥ 200 (≥ 60)", f"{len(messages)} ({len(pii_free)})"),
        (
            "gold spans",
            "≥ 25 per type",
            f"{sum(c['gold'] for c in counts.values())} (fewest: {fewest} {counts[fewest]['gold']})",
        ),
        ("types at target", f"{len(PII_TYPES)} of {len(PII_TYPES)} ({TARGET})", f"{at_target} of {len(PII_TYPES)}"),
        ("PII-free messages with a prediction (false alarms)", "—", f"{alarmed} of {len(pii_free)}"),
        (
            "time per message (median)",
            "—",
            f"{median * 1e6:.0f} µs (median of {len(per_run)} runs: {' · '.join(f'{t * 1e6:.0f}' for t in per_run)})",
        ),
    ]
    return markdown(("figure", "anchor", "ours"), rows)


def run(args: argparse.Namespace) -> int:
    if not args.data.exists():
        print(f"bench-pii: no labelled set at {args.data}; write it with `python -m bench.pii_data`")
        return 1
    messages = messages_load(args.data)
    predictions = predict(messages)  # also the warm-up: the names' patterns are cached
    counts = score(messages, predictions)
    timing = median_seconds_per_message(messages, args.runs)
    print(f"PII redactor on {args.data.name}: {len(messages)} messages; exact spans, overlap in the last column\n")
    print(type_table(counts))
    print()
    print(summary_table(messages, predictions, counts, timing))
    print(f"\n{COMPARABLE}\n")
    lines = errors(messages, predictions)
    print(f"Misses and false alarms ({len(lines)}; line = line of the JSONL file; ⟦span⟧):")
    print("\n".join(lines) if lines else "  none")
    failing = [kind for kind in PII_TYPES if below_target(counts[kind])]
    if failing:
        print(f"\nBelow target: {', '.join(failing)}")
    return 1 if failing else 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.pii", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help=f"labelled JSONL (default {DATA})")
    parser.add_argument("--runs", type=int, default=5, help="timing runs over the whole set; the median is quoted (5)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
