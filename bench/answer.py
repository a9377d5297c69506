"""``make bench-answer``: the bot on BANKING77's test split with the demo knowledge base.

Each test message is a customer's first message in a new conversation. The intent model (the fast version,
trained here on BANKING77's training split unless the bench database already has a champion) and the knowledge
index read it, and the dialogue policy decides: answer, ask, or hand over. An answer is correct when the
article it comes from lists the message's true intent. Printed: the share answered (containment), the share
of answers that were correct, the shares asked and handed over, for the policy's settings and for a sweep of
its answer threshold; then the end-to-end latency from a stored customer message to the stored bot answer,
through a real Celery worker when REDIS_URL is set (else the embedded, eager path), median of ``--runs`` runs.

Its own SQLite database and model store live in var/bench-answer/ (kept between runs, so the intent model is
trained once; ``--retrain`` trains again).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench-answer"
WORK.mkdir(parents=True, exist_ok=True)
# Its own var folder: the SQLite database and the model store (a worker started here shares both).
os.environ["HELPDESK_VAR_DIR"] = str(WORK)
os.environ.pop("DATABASE_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")  # a log line per task would bury the tables
os.environ.setdefault("HELPDESK_TORCH_THREADS", "1")  # one message at a time: one thread is fastest (settings.py)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

from apps.assistant.examples import labelled_csv_read  # noqa: E402
from apps.assistant.inference import intent_predict  # noqa: E402
from apps.assistant.jobs import model_champion_for_kind  # noqa: E402
from apps.assistant.ml.sentiment import sentiment_analyse  # noqa: E402
from apps.assistant.models import ModelKind, TrainingExample  # noqa: E402
from apps.assistant.policy import BotState, Guess, Hit, PolicySettings, Turn, decide  # noqa: E402
from apps.assistant.registry import model_version_promote  # noqa: E402
from apps.assistant.retrieval import passages_search  # noqa: E402
from apps.assistant.selectors import policy_config  # noqa: E402
from apps.assistant.services import training_examples_import  # noqa: E402
from apps.assistant.training import model_version_train  # noqa: E402
from apps.conversations.models import Message  # noqa: E402
from apps.conversations.services import customer_message_post, widget_session_start  # noqa: E402
from apps.web.demo.content import articles_ensure  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "banking77"
TARGETS = {"correct": "> 90 % of answers", "containment": "> 70 %", "p95": "< 150 ms (extractive)"}
SWEEP = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def prepare(args: argparse.Namespace) -> None:
    call_command("migrate", verbosity=0)
    articles_ensure()
    call_command("index_kb", verbosity=0)
    if model_champion_for_kind(kind=ModelKind.INTENT) is not None and not args.retrain:
        return
    if not TrainingExample.objects.filter(kind=ModelKind.INTENT).exists():
        examples = labelled_csv_read(args.data / "train.csv")
        training_examples_import(kind=ModelKind.INTENT, examples=examples, source=TrainingExample.Source.IMPORT)
    started = time.monotonic()
    version = model_version_train(fast=True, actor=None)
    print(f"trained {version} in {time.monotonic() - started:.0f} s: {version.metrics.get('accuracy', 0):.2%} held out")
    if args.retrain:  # a new version waits for a promotion; the bench promotes what it trained
        model_version_promote(version=version, actor=None, reason="bench-answer --retrain")


def read_all(texts: list[str]) -> list[tuple[Guess, tuple[Hit, ...], float, tuple[str, ...]]]:
    """What the models and the index make of each text (the policy's inputs), batch by batch."""
    readings = []
    for start in range(0, len(texts), 64):
        batch = texts[start : start + 64]
        predictions, _ = intent_predict(batch)
        for text, prediction in zip(batch, predictions, strict=True):
            guess = Guess(prediction.intent, prediction.confidence, list(prediction.top3), prediction.out_of_scope)
            found = passages_search(text, k=5, intents=[prediction.top3[0][0]])
            hits = tuple(
                Hit(h.article_id, h.article_title, h.article_url, h.text, h.score, tuple(h.article_intents))
                for h in found
            )
            sentiment = sentiment_analyse(text)
            readings.append((guess, hits, sentiment.score, sentiment.reasons))
    return readings


def outcomes(readings, labels: list[str], settings: PolicySettings) -> dict[str, float]:
    answered = correct = asked = handed = 0
    for (guess, hits, score, reasons), label in zip(readings, labels, strict=True):
        turn = Turn(text="", guess=guess, sentiment=score, escalate_reasons=reasons, hits=hits)
        action, _ = decide(turn, BotState(), settings)
        if action.decision == "answer":
            answered += 1
            correct += label in action.hit.article_intents
        elif action.decision == "clarify":
            asked += 1
        else:
            handed += 1
    total = len(labels)
    return {
        "containment": answered / total,
        "correct": correct / answered if answered else 0.0,
        "clarify": asked / total,
        "handoff": handed / total,
        "answered": answered,
    }


def end_to_end(texts: list[str], worker: bool) -> list[float]:
    """Milliseconds from each stored customer message to the bot's stored reply (or handoff line)."""
    waits = []
    for text in texts:
        conversation = widget_session_start(name="Bench")
        with transaction.atomic():
            message = customer_message_post(conversation=conversation, text=text, client_id=uuid.uuid4()).message
        reply = None
        deadline = time.monotonic() + 30
        while reply is None and time.monotonic() < deadline:
            reply = (
                Message.objects.filter(conversation=conversation, seq__gt=message.seq)
                .exclude(role=Message.Role.CUSTOMER)
                .order_by("seq")
                .first()
            )
            if reply is None:
                time.sleep(0.002 if worker else 0)
        if reply is None:
            raise SystemExit(f"no bot reply within 30 s to {text!r}: is the worker running?")
        waits.append((reply.created_at - message.created_at).total_seconds() * 1000)
    return waits


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def worker_start() -> subprocess.Popen:
    log = (WORK / "worker.log").open("w")
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "helpdesk",
        "worker",
        "-Q",
        "inference,default",
        "-c",
        "1",
        "--loglevel",
        "INFO",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT)
    for _ in range(120):
        if "ready" in (WORK / "worker.log").read_text():
            return process
        time.sleep(0.5)
    process.kill()
    raise SystemExit(f"the Celery worker did not start; see {WORK / 'worker.log'}")


def run(args: argparse.Namespace) -> int:
    if not (args.data / "test.csv").exists():
        print(f"bench-answer skipped: no BANKING77 at {args.data}")
        return 0
    prepare(args)
    test = labelled_csv_read(args.data / "test.csv")
    texts, labels = [row.text for row in test], [row.label for row in test]
    settings = policy_config().as_settings()
    started = time.monotonic()
    readings = read_all(texts)
    per_message = (time.monotonic() - started) / len(texts) * 1000
    chosen = outcomes(readings, labels, settings)
    print(f"\n{len(texts)} test messages; models + retrieval {per_message:.1f} ms per message in batches of 64\n")
    print("| answer threshold | containment | correct answers | asked | handed over |")
    print("| --- | --- | --- | --- | --- |")
    for threshold in sorted({*SWEEP, settings.answer_confidence}):
        figures = outcomes(readings, labels, replace(settings, answer_confidence=threshold))
        mark = " (setting)" if threshold == settings.answer_confidence else ""
        print(
            f"| {threshold:.2f}{mark} | {figures['containment']:.1%} | {figures['correct']:.1%} | "
            f"{figures['clarify']:.1%} | {figures['handoff']:.1%} |"
        )
    worker = bool(os.environ.get("REDIS_URL"))
    process = worker_start() if worker else None
    try:
        sample = texts[:: max(1, len(texts) // args.messages)][: args.messages]
        end_to_end(sample[:5], worker)  # warm-up: models load in the worker
        runs = [end_to_end(sample, worker) for _ in range(args.runs)]
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
    p50 = statistics.median(percentile(waits, 0.5) for waits in runs)
    p95 = statistics.median(percentile(waits, 0.95) for waits in runs)
    path = "a real Celery worker over Redis" if worker else "the embedded eager path (no REDIS_URL)"
    print()
    print("| figure | target | ours |")
    print("| --- | --- | --- |")
    print(f"| correct answers (article lists the true intent) | {TARGETS['correct']} | {chosen['correct']:.1%} |")
    print(f"| containment (answered by the bot) | {TARGETS['containment']} | {chosen['containment']:.1%} |")
    print(f"| asked to clarify | — | {chosen['clarify']:.1%} |")
    print(f"| handed over | — | {chosen['handoff']:.1%} |")
    print(f"| message → bot reply p50 ({path}) | — | {p50:.0f} ms |")
    print(f"| message → bot reply p95 ({path}) | {TARGETS['p95']} | {p95:.0f} ms |")
    backend = policy_config().reply_backend
    print(f"\n{args.messages} messages per latency run, median of {args.runs} runs; reply backend {backend}")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.answer", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help=f"BANKING77 folder (default {DATA})")
    parser.add_argument("--retrain", action="store_true", help="train the intent model again")
    parser.add_argument("--messages", type=int, default=100, help="messages per latency run (100)")
    parser.add_argument("--runs", type=int, default=3, help="latency runs; the median is quoted (3)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
