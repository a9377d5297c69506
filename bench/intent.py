"""``make bench-intent``: the intent classifier on BANKING77, next to published figures.

Reads ``train.csv`` and ``test.csv`` from ``../shared/data/banking77`` (or ``--data``) with the import
command's reader, trains with the registry's configuration (``--mode finetune``: the full version, ``head``:
the fast one) on the whole training file (training carves its own validation split out of it), evaluates on
the test file, and prints a table: figure | published anchor | ours. No database is used.

Accuracy is top-1 over the 77 intents, as published; "answered accuracy" counts the messages the out-of-scope
rule turns away (BANKING77 has no out-of-scope examples, so each of those is a miss) and is what customers get.
Latency is one message per call, after a warm-up; the median of ``--runs`` runs is quoted for each figure.
"""

import argparse
import os
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
django.setup()

# After django.setup(): training imports the registry's models.
import torch  # noqa: E402

from apps.assistant.examples import labelled_csv_read  # noqa: E402
from apps.assistant.jobs import TRAINING_CONFIGS  # noqa: E402
from apps.assistant.ml.config import IntentTrainingConfig, encoder_path  # noqa: E402
from apps.assistant.ml.encoder import device_default  # noqa: E402
from apps.assistant.ml.intent import IntentModel, train_intent_model  # noqa: E402
from apps.assistant.training import intent_model_evaluate  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "banking77"
ANCHORS = {
    "accuracy": "93.66 % fine-tuned BERT-base; 93.36 % USE+ConveRT (Casanueva et al. 2020); "
    "80.0 % frozen MiniLM + LR, 8-shot",
}


def config_for(args: argparse.Namespace) -> IntentTrainingConfig:
    config = TRAINING_CONFIGS["full" if args.mode == "finetune" else "fast"]
    overrides = {
        name: getattr(args, name)
        for name in ("epochs", "patience", "batch_size", "learning_rate", "encoder_learning_rate")
        if getattr(args, name) is not None
    }
    return replace(config, **overrides)


def latency_ms(model: IntentModel, texts: list[str]) -> tuple[float, float]:
    """p50 and p95 of one-message predict calls, in milliseconds."""
    times = []
    for text in texts:
        started = time.perf_counter()
        model.predict([text])
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def throughput(model: IntentModel, texts: list[str], batch: int = 32) -> float:
    """Messages per second when predicting batches of ``batch``."""
    started = time.perf_counter()
    for start in range(0, len(texts), batch):
        model.predict(texts[start : start + batch])
    return len(texts) / (time.perf_counter() - started)


def speed(model: IntentModel, texts: list[str], runs: int, sample: int) -> dict[str, float]:
    generator = random.Random(1)
    model.predict(texts[:10])  # warm-up: first calls allocate
    figures = []
    for _ in range(runs):
        chosen = generator.sample(texts, min(sample, len(texts)))
        p50, p95 = latency_ms(model, chosen)
        figures.append({"p50": p50, "p95": p95, "throughput": throughput(model, texts[: 32 * 20])})
    return {key: statistics.median(run[key] for run in figures) for key in figures[0]}


def table(rows: list[tuple[str, str, str]]) -> str:
    lines = ["| figure | published anchor | ours |", "| --- | --- | --- |"]
    lines += [f"| {figure} | {anchor} | {ours} |" for figure, anchor, ours in rows]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    train_file, test_file = args.data / "train.csv", args.data / "test.csv"
    if not train_file.exists() or not test_file.exists():
        print(f"bench-intent skipped: no BANKING77 at {args.data} (train.csv and test.csv)")
        return 0
    train, test = labelled_csv_read(train_file), labelled_csv_read(test_file)
    if args.limit:
        train = random.Random(0).sample(train, min(args.limit, len(train)))
    config = config_for(args)
    print(
        f"BANKING77: {len(train)} training, {len(test)} test messages; {config}; "
        f"encoder {encoder_path()}; device {device_default()}, {torch.get_num_threads()} CPU threads",
        flush=True,
    )
    started = time.monotonic()
    model = train_intent_model(
        [row.text for row in train],
        [row.label for row in train],
        config=config,
        progress=lambda fraction, note: print(f"  {time.monotonic() - started:6.0f} s  {note}", flush=True),
    )
    training_seconds = time.monotonic() - started
    if args.save:
        model.save(args.save)
    texts, labels = [row.text for row in test], [row.label for row in test]
    report = intent_model_evaluate(model, texts, labels)
    timing = speed(model, texts, args.runs, args.sample)
    print()
    print(table(rows_of(report, timing, training_seconds, model, args)))
    return 0


def rows_of(
    report: dict[str, Any], timing: dict[str, float], seconds: float, model: IntentModel, args: argparse.Namespace
) -> list[tuple[str, str, str]]:
    validation = model.calibration.validation
    return [
        ("accuracy (top-1, test)", ANCHORS["accuracy"], f"{report['top1_accuracy']:.2%}"),
        ("answered accuracy (out-of-scope rule on)", "—", f"{report['accuracy']:.2%}"),
        ("share answered (rule on)", "—", f"{report['answered_share']:.2%}"),
        ("macro-F1 (rule on)", "—", f"{report['macro_f1']:.4f}"),
        (
            "training time",
            "—",
            f"{seconds:.0f} s ({args.mode}, {validation.get('epochs')} epochs, "
            f"validation accuracy {validation.get('accuracy', 0):.2%})",
        ),
        ("single-message latency p50", "—", f"{timing['p50']:.1f} ms"),
        ("single-message latency p95", "—", f"{timing['p95']:.1f} ms"),
        ("batch-32 throughput", "—", f"{timing['throughput']:.0f} messages/s"),
    ]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.intent", description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("head", "finetune"), default="finetune", help="default finetune")
    parser.add_argument("--data", type=Path, default=DATA, help=f"BANKING77 folder (default {DATA})")
    parser.add_argument("--epochs", type=int, help="override the configuration's maximum epochs")
    parser.add_argument("--patience", type=int, help="override the early-stopping patience")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--learning-rate", type=float, help="the head's learning rate")
    parser.add_argument("--encoder-learning-rate", type=float)
    parser.add_argument("--limit", type=int, help="train on this many random training messages (a smoke run)")
    parser.add_argument("--runs", type=int, default=5, help="latency runs; each figure is their median (5)")
    parser.add_argument("--sample", type=int, default=200, help="messages per latency run (200)")
    parser.add_argument("--save", type=Path, help="keep the trained model in this folder")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
