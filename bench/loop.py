"""``make bench-loop``: the learning loop on BANKING77, from a few examples per intent to two promotions.

A first intent model (the fast version) is trained on ``--seed-per-label`` examples per intent of BANKING77's
training split; the rest of that split, shuffled, is replayed as customers' first messages through the desk's
real path (``widget_session_start``, ``customer_message_post``, the ``analyse_message`` hook, eager), and an
agent corrects every message whose stored intent is not its true label (accepted without review). After every
``--batch`` messages the loop's beat job runs (``learning_loop_tick``): it trains a candidate once enough new
corrections are accepted, compares it with the champion on the held-out split, runs it in shadow, and the gate
promotes it. Each champion is evaluated on the test split; test accuracy must rise from the first champion to
the last, over at least ``--promotions`` promotions, or the exit status is 1.

Its own SQLite database and model store live in var/bench-loop/, emptied at the start of every run.
"""

import argparse
import os
import random
import shutil
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench-loop"
WORK.mkdir(parents=True, exist_ok=True)
# Its own var folder (the SQLite database and the model store), and the embedded desk: no broker, eager Celery.
os.environ["HELPDESK_VAR_DIR"] = str(WORK)
os.environ.pop("DATABASE_URL", None)
os.environ.pop("REDIS_URL", None)
os.environ.pop("MODEL_STORE", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")  # a log line per task would bury the tables
os.environ.setdefault("HELPDESK_TORCH_THREADS", "1")  # one message at a time: one thread is fastest (settings.py)
# Eager, helpdesk.celery.task_enqueue_by_name imports the task modules on every call, and Celery's Django fixup
# answers that signal with Django's system checks: about 60 ms of every replayed message, nothing the loop does.
os.environ.setdefault("CELERY_SKIP_CHECKS", "1")
os.environ.setdefault("TQDM_DISABLE", "1")  # the encoder's "Loading weights" bar at every model load

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from apps.accounts.roles import AGENTS  # noqa: E402
from apps.accounts.services import user_set_roles  # noqa: E402
from apps.assistant.examples import is_held_out, labelled_csv_read  # noqa: E402
from apps.assistant.feedback import learning_loop_config  # noqa: E402
from apps.assistant.jobs import model_champion_for_kind  # noqa: E402
from apps.assistant.models import GateDecision, ModelKind, ModelVersion, TrainingExample  # noqa: E402
from apps.assistant.services import LabelledText, example_text_sha256, training_examples_import  # noqa: E402
from apps.assistant.suggestion_services import message_intent_correct  # noqa: E402
from apps.assistant.tasks import learning_loop_tick  # noqa: E402
from apps.assistant.training import model_version_evaluate, model_version_train  # noqa: E402
from apps.conversations.models import Conversation, Message  # noqa: E402
from apps.conversations.services import customer_message_post, widget_session_start  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "banking77"
# README.md, bench-intent: the fast version (a head on frozen MiniLM) trained on all 10,003 training messages.
CEILING = "92.89 % fast version on the whole training set (bench-intent)"
EIGHT_SHOT = "80.0 % frozen MiniLM + LR, 8-shot"


@dataclass
class Champion:
    """One champion of the run and what it scored on the test split."""

    label: str
    version: ModelVersion
    messages: int  # replayed when it became champion
    corrections: int  # made by then
    accuracy: float
    top1_accuracy: float
    macro_f1: float
    decision: GateDecision | None = None  # the gate's decision that promoted it


@dataclass
class Traffic:
    messages: int = 0
    corrections: int = 0
    unanalysed: int = 0  # customer messages the hook left without a reading (must be 0)
    seconds: float = 0.0


def database_reset() -> None:
    """An empty database and model store: the loop starts from nothing each run. Call before any query."""
    for name in ("helpdesk.sqlite3", "helpdesk.sqlite3-wal", "helpdesk.sqlite3-shm"):
        (WORK / name).unlink(missing_ok=True)
    shutil.rmtree(WORK / "models", ignore_errors=True)
    call_command("migrate", verbosity=0)


def seed_split(rows: list[LabelledText], per_label: int, seed: int) -> tuple[list[LabelledText], list[LabelledText]]:
    """(seed examples: the first ``per_label`` of each intent in a shuffled order, the rest as traffic, shuffled)."""
    shuffled = rows[:]
    random.Random(seed).shuffle(shuffled)
    taken: Counter[str] = Counter()
    chosen, rest = [], []
    for row in shuffled:
        if taken[row.label] < per_label:
            taken[row.label] += 1
            chosen.append(row)
        else:
            rest.append(row)
    return chosen, rest


def loop_configure(args: argparse.Namespace) -> None:
    config = learning_loop_config()
    config.enabled = True
    config.accept_agent_corrections = True
    config.fast_training = True
    config.auto_promote = True
    config.min_new_examples = args.retrain_every
    config.shadow_min_messages = args.shadow_messages
    config.promotion_margin = args.margin
    config.gate_metric = args.gate_metric
    config.full_clean()
    config.save()


def agent_create():
    agent = get_user_model().objects.create_user(username="bench_agent", password=uuid.uuid4().hex, is_staff=True)
    user_set_roles(user=agent, roles=[AGENTS])
    return agent


def replay(row: LabelledText, agent, traffic: Traffic) -> None:
    """One customer's first message through the desk, read by an agent who corrects its intent when it is wrong."""
    started = time.perf_counter()
    conversation = widget_session_start(name="")
    # customer_message_post commits on return, and its on_commit runs the hook (eager Celery: analyse_message).
    posted = customer_message_post(conversation=conversation, text=row.text, client_id=uuid.uuid4())
    message = Message.objects.get(pk=posted.message.pk)
    # The agent reads every conversation (so an uncorrected reading counts as a right one in the gate's shadow
    # figures) and corrects the wrong readings.
    Conversation.objects.filter(pk=conversation.pk).update(assignee=agent)
    traffic.messages += 1
    if "analysed_at" not in (message.annotations or {}):
        traffic.unanalysed += 1
    elif message.intent != row.label:
        message_intent_correct(message=message, intent=row.label, agent=agent)
        traffic.corrections += 1
    traffic.seconds += time.perf_counter() - started


def champion_measure(label: str, version: ModelVersion, test: list[LabelledText], traffic: Traffic) -> Champion:
    texts, labels = [row.text for row in test], [row.label for row in test]
    report = model_version_evaluate(version=version, texts=texts, labels=labels)
    decision = version.gate_decisions.filter(outcome=GateDecision.Outcome.PROMOTED).first()
    return Champion(
        label,
        version,
        traffic.messages,
        traffic.corrections,
        report["accuracy"],
        report["top1_accuracy"],
        report["macro_f1"],
        decision,
    )


def champion_print(champion: Champion, elapsed: float) -> None:
    version = champion.version
    print(
        f"  {elapsed:6.0f} s  {champion.label}: {version} trained on {version.training_size} examples, "
        f"test accuracy {champion.top1_accuracy:.2%} (answered {champion.accuracy:.2%}), "
        f"macro-F1 {champion.macro_f1:.4f}",
        flush=True,
    )


def run(args: argparse.Namespace) -> int:
    train_file, test_file = args.data / "train.csv", args.data / "test.csv"
    if not train_file.exists() or not test_file.exists():
        print(f"bench-loop skipped: no BANKING77 at {args.data} (train.csv and test.csv; --data)")
        return 0
    train, test = labelled_csv_read(train_file), labelled_csv_read(test_file)
    seed, rest = seed_split(train, args.seed_per_label, args.seed)
    rest = rest[: args.traffic] if args.traffic else rest
    started = time.monotonic()
    database_reset()
    loop_configure(args)
    agent = agent_create()
    training_examples_import(kind=ModelKind.INTENT, examples=seed, source=TrainingExample.Source.IMPORT)
    held_out = sum(is_held_out(example_text_sha256(row.text)) for row in seed)
    print(
        f"BANKING77: {len(seed)} seed examples ({args.seed_per_label} per intent, {held_out} of them held out), "
        f"{len(rest)} messages of traffic, {len(test)} test messages; a candidate every {args.retrain_every} "
        f"new accepted examples, shadow {args.shadow_messages} messages, margin {args.margin} on {args.gate_metric}",
        flush=True,
    )
    first = model_version_train(kind=ModelKind.INTENT, fast=True, actor=None)
    traffic = Traffic()
    champions = [champion_measure("start", first, test, traffic)]
    champion_print(champions[-1], time.monotonic() - started)
    ticks: list[dict] = []
    for start in range(0, len(rest), args.batch):
        for row in rest[start : start + args.batch]:
            replay(row, agent, traffic)
        ticks.append(learning_loop_tick.apply().get())
        if args.verbose:
            print(f"  {time.monotonic() - started:6.0f} s  {traffic.messages} messages: {ticks[-1]['intent']}")
        champion = model_champion_for_kind(kind=ModelKind.INTENT)
        if champion.pk != champions[-1].version.pk:
            label = f"after promotion {len(champions)}"
            champions.append(champion_measure(label, champion, test, traffic))
            champion_print(champions[-1], time.monotonic() - started)
            if len(champions) > args.promotions:
                break
    wall = time.monotonic() - started
    print()
    print(champions_table(champions))
    print()
    print(figures_table(champions, traffic, ticks, wall))
    return verdict(champions, traffic, args.promotions)


def champions_table(champions: list[Champion]) -> str:
    lines = [
        "| champion | published anchor | version (epochs) | accepted examples (trained on) | messages replayed | "
        "corrections | test accuracy (top-1) | answered accuracy | macro-F1 | held-out delta | "
        "shadow: read / corrected, challenger right vs champion |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for champion in champions:
        anchor = EIGHT_SHOT if champion.label == "start" else CEILING
        decision = champion.decision
        delta = f"{decision.held_out_delta:+.4f}" if decision and decision.held_out_delta is not None else "—"
        shadow = "—"
        if decision and decision.shadow:
            figures = decision.shadow
            shadow = (
                f"{figures['messages']} / {figures['corrected']}, "
                f"{figures['challenger_right']} vs {figures['champion_right']}"
            )
        version = champion.version
        lines.append(
            f"| {champion.label} | {anchor} | v{version.version} ({version.metrics.get('epochs')}) | "
            f"{version.training_size:,} (+ {version.parameters.get('held_out_size', 0)} held out) | "
            f"{champion.messages:,} | {champion.corrections:,} | {champion.top1_accuracy:.2%} | "
            f"{champion.accuracy:.2%} | {champion.macro_f1:.4f} | {delta} | {shadow} |"
        )
    return "\n".join(lines)


def figures_table(champions: list[Champion], traffic: Traffic, ticks: list[dict], wall: float) -> str:
    decisions = Counter(GateDecision.objects.values_list("outcome", flat=True))
    candidates = ModelVersion.objects.filter(model__kind=ModelKind.INTENT).count() - 1
    rise = champions[-1].top1_accuracy - champions[0].top1_accuracy
    per_message = traffic.seconds / traffic.messages * 1000 if traffic.messages else 0.0
    rows = [
        ("messages replayed", "—", f"{traffic.messages:,}"),
        ("agent corrections (reading ≠ true intent)", "—", f"{traffic.corrections:,}"),
        ("messages left unanalysed by the hook", "0", f"{traffic.unanalysed}"),
        ("loop turns (learning_loop_tick)", "—", f"{len(ticks)}"),
        ("candidates trained", "—", f"{candidates}"),
        (
            "gate decisions by outcome",
            "—",
            ", ".join(f"{outcome} {count}" for outcome, count in sorted(decisions.items())) or "none",
        ),
        ("promotions", "≥ 2", f"{len(champions) - 1}"),
        ("test accuracy, first → last champion", CEILING, f"{rise * 100:+.2f} points"),
        ("desk time per replayed message (with the correction)", "—", f"{per_message:.1f} ms"),
        ("wall time", "—", f"{wall:.0f} s"),
    ]
    lines = ["| figure | published anchor | ours |", "| --- | --- | --- |"]
    lines += [f"| {figure} | {anchor} | {ours} |" for figure, anchor, ours in rows]
    return "\n".join(lines)


def verdict(champions: list[Champion], traffic: Traffic, promotions: int) -> int:
    problems = []
    if len(champions) - 1 < promotions:
        problems.append(f"{len(champions) - 1} promotion(s), not {promotions}")
    if champions[-1].top1_accuracy <= champions[0].top1_accuracy:
        problems.append("test accuracy did not rise")
    if traffic.unanalysed:
        problems.append(f"{traffic.unanalysed} messages were not analysed")
    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.loop", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help=f"BANKING77 folder (default {DATA})")
    parser.add_argument("--seed-per-label", type=int, default=8, help="seed examples per intent (8)")
    parser.add_argument("--traffic", type=int, default=4000, help="replay at most this many messages (4000; 0: all)")
    parser.add_argument("--batch", type=int, default=100, help="messages between two turns of the loop (100)")
    parser.add_argument("--retrain-every", type=int, default=300, help="min_new_examples of the loop (300)")
    parser.add_argument("--shadow-messages", type=int, default=100, help="shadow_min_messages of the gate (100)")
    parser.add_argument("--margin", type=float, default=0.01, help="promotion_margin of the gate (0.01)")
    parser.add_argument("--gate-metric", choices=("macro_f1", "accuracy"), default="macro_f1")
    parser.add_argument("--promotions", type=int, default=2, help="stop after this many promotions (2)")
    parser.add_argument("--seed", type=int, default=0, help="the shuffle's seed (0)")
    parser.add_argument("--verbose", action="store_true", help="print what each turn of the loop did")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
