"""``make bench-satisfaction``: the satisfaction model on USS's SGD part, by the paper's protocol.

Reads ``../shared/data/uss/SGD.txt`` (or ``--data``) with the import command's reader. The dialogues, in file
order, are cut into ten equal contiguous parts; fold k tests on part k and trains on the other nine (Sun et al.,
SIGIR 2021). Each USER turn is predicted from the dialogue before it, the OVERALL line from the whole dialogue,
as the paper's code does: 13,833 test turns. The figures are over all test turns pooled, as the paper's;
``--runs`` repeats the ten folds with other seeds and the median of each figure is quoted. No database is used.

The encoder embeds each distinct text once for all folds and runs; the embeddings are kept in
var/bench-satisfaction/ (``--no-cache`` to embed again), so "training per fold" is the network's training only.

Two of the paper's figures come from code that computes them differently from their textbook definitions
(github.com/sunnweiwei/user-satisfaction-simulation, baselines/test.py and spearman.py): its F1 divides 2PR by
max(P + R, 1) instead of P + R, which lowers every F1 below 0.5, and its Spearman ranks ties at their lowest rank
and uses the no-ties formula. Our rows use the textbook definitions; the rows marked "paper's code" recompute
ours the paper's way, so each published figure has a like-for-like neighbour. The paper also quotes, for each
figure, the best of 100 epochs on the test folds; ours stops early on validation dialogues carved out of the
training folds and never looks at the test fold.
"""

import argparse
import hashlib
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
django.setup()

# After django.setup(): the dialogue reader imports the registry's models.
import torch  # noqa: E402

from apps.assistant.dialogues import (  # noqa: E402
    dialogues_read,
    dialogues_samples,
)
from apps.assistant.ml.config import (  # noqa: E402
    SatisfactionTrainingConfig,
    encoder_path,
)
from apps.assistant.ml.encoder import encoder_load  # noqa: E402
from apps.assistant.ml.satisfaction import (  # noqa: E402
    CrossValidation,
    cross_validate,
)
from apps.assistant.ml.satisfaction_features import ConversationFeatures, TextEmbeddings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "uss" / "SGD.txt"
CACHE = ROOT / "var" / "bench-satisfaction"
# Sun et al. 2021, SGD: the best published figure of each column, and the fine-tuned BERT's.
PUBLISHED = {
    "uar": (0.293, 0.261),
    "kappa": (0.118, 0.094),
    "rho": (0.477, 0.477),
    "f1_dissatisfied": (0.086, 0.048),
}


def paper_f1(truth: list[int], labels: list[int]) -> float:
    """F1 of 'rating < 3' as baselines/test.py computes it: 2PR / max(P + R, 1)."""
    pairs = [(actual < 3, guess < 3) for actual, guess in zip(truth, labels, strict=True)]
    hits = sum(actual and guess for actual, guess in pairs)
    recall = hits / max(sum(actual for actual, _ in pairs), 1)
    precision = hits / max(sum(guess for _, guess in pairs), 1)
    return 2 * recall * precision / max(recall + precision, 1)


def paper_spearman(first: list[int], second: list[int]) -> float:
    """Spearman's rho as baselines/spearman.py computes it: a tie takes its lowest rank, 1 - 6 sum d^2 / n(n^2-1)."""

    def ranks(values: list[int]) -> list[int]:
        lowest: dict[int, int] = {}
        for rank, value in enumerate(sorted(values), start=1):
            lowest.setdefault(value, rank)
        return [lowest[value] for value in values]

    count = len(first)
    squares = sum((a - b) ** 2 for a, b in zip(ranks(first), ranks(second), strict=True))
    return 1.0 - 6.0 * squares / (count * (count**2 - 1.0))


def embeddings_cache(data: Path, encoder_folder: Path) -> Path:
    """Where the embeddings of ``data``'s texts by the encoder at ``encoder_folder`` are kept between runs."""
    stat = data.stat()
    key = f"{encoder_folder}\0{data.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}"
    return CACHE / f"embeddings-{hashlib.sha256(key.encode()).hexdigest()[:16]}.pt"


def features_of(samples: list, config: SatisfactionTrainingConfig, data: Path, use_cache: bool) -> torch.Tensor:
    """x of every sample; each distinct text embedded once, or read from var/bench-satisfaction/."""
    CACHE.mkdir(parents=True, exist_ok=True)
    embeddings = TextEmbeddings(encoder_load(device=torch.device("cpu")))
    cache = embeddings_cache(data, embeddings.encoder.path)
    if use_cache and cache.exists():
        embeddings.vectors = torch.load(cache)
    known = len(embeddings.vectors)
    started = time.monotonic()
    x = ConversationFeatures(embeddings, config).matrix([sample.context for sample in samples])
    if len(embeddings.vectors) > known:
        torch.save(embeddings.vectors, cache)
    print(
        f"features of {len(samples)} turns in {time.monotonic() - started:.0f} s "
        f"({len(embeddings.vectors) - known} texts embedded, {known} from {cache.relative_to(ROOT)})",
        flush=True,
    )
    return x


def reference_figures(truth: list[int]) -> dict[str, float]:
    """What predictions without a model score: every turn a 3 (the majority), every turn a 2."""
    count = len(truth)
    return {
        "paper_rho_all_3": paper_spearman([3] * count, truth),
        "f1_all_2": paper_f1(truth, [2] * count),
        "mae_all_3": sum(abs(rating - 3) for rating in truth) / count,
    }


def run(args: argparse.Namespace) -> int:
    if not args.data.exists():
        print(f"bench-satisfaction skipped: no USS data at {args.data} (SGD.txt of ../shared/data/uss)")
        return 0
    dialogues = dialogues_read(args.data)
    samples = dialogues_samples(dialogues)
    config = replace(SatisfactionTrainingConfig(), **args.overrides)
    print(
        f"{args.data.name}: {len(dialogues)} dialogues, {len(samples)} rated turns; {config}; "
        f"encoder {encoder_path()}; {torch.get_num_threads()} CPU threads",
        flush=True,
    )
    x = features_of(samples, config, args.data, not args.no_cache)
    results = []
    for run_number in range(args.runs):
        seeded = replace(config, seed=config.seed + run_number)
        result = cross_validate(samples, x, len(dialogues), folds=args.folds, config=seeded)
        results.append(result)
        print(f"run {run_number + 1} (seed {seeded.seed}): {headline(result)}", flush=True)
    print()
    print(table(results, args.folds))
    return 0


def headline(result: CrossValidation) -> str:
    pooled = result.pooled
    return (
        f"UAR {pooled['uar']:.3f}, kappa {pooled['kappa']:.3f}, rho {pooled['rho']:.3f}, "
        f"F1(<3) {pooled['f1_dissatisfied']:.3f}, MAE {pooled['mae']:.3f}, predicted {pooled['predicted']}, "
        f"{result.seconds:.0f} s"
    )


def table(results: list[CrossValidation], folds: int) -> str:
    def median(pick) -> float:
        return statistics.median(pick(result) for result in results)

    def pooled(key: str) -> str:
        return f"{median(lambda result: result.pooled[key]):.3f}"

    def fold_mean(key: str) -> str:
        return f"mean of folds {median(lambda result: result.mean[key]):.3f}"

    def paper(figure) -> str:
        return f"{median(lambda result: figure(result.truth, result.labels)):.3f}"

    def published(key: str) -> str:
        best, bert = PUBLISHED[key]
        return f"{best:.3f}; BERT {bert:.3f}"

    reference = reference_figures(results[0].truth)
    per_fold = median(lambda result: statistics.median(fold["seconds"] for fold in result.folds))
    rows = [
        ("UAR", published("uar"), f"{pooled('uar')} ({fold_mean('uar')}, over the ratings each fold has)"),
        ("Cohen's kappa", published("kappa"), f"{pooled('kappa')} ({fold_mean('kappa')})"),
        (
            "F1 of 'rating < 3'",
            published("f1_dissatisfied"),
            f"{pooled('f1_dissatisfied')} ({fold_mean('f1_dissatisfied')})",
        ),
        ("F1 of 'rating < 3', the paper's code", published("f1_dissatisfied"), paper(paper_f1)),
        ("Spearman's rho, expected score", published("rho"), f"{pooled('rho')} ({fold_mean('rho')})"),
        ("Spearman's rho, label", published("rho"), pooled("rho_label")),
        (
            "Spearman's rho, label, the paper's code",
            published("rho"),
            paper(lambda t, labels: paper_spearman(labels, t)),
        ),
        ("MAE of the expected score", "—", f"{pooled('mae')} ({fold_mean('mae')})"),
        ("accuracy", "—", pooled("accuracy")),
        ("reference: every turn 3, rho by the paper's code", "—", f"{reference['paper_rho_all_3']:.3f}"),
        ("reference: every turn 2, F1 of 'rating < 3'", "—", f"{reference['f1_all_2']:.3f}"),
        ("reference: every turn 3, MAE", "—", f"{reference['mae_all_3']:.3f}"),
        ("training time per fold (median)", "—", f"{per_fold:.1f} s (embeddings apart)"),
        ("test turns", "13,833", f"{results[0].pooled['n']:,} in {folds} folds; median of {len(results)} runs"),
    ]
    lines = ["| figure | published (USS best; fine-tuned BERT) | ours |", "| --- | --- | --- |"]
    lines += [f"| {figure} | {anchor} | {ours} |" for figure, anchor, ours in rows]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.satisfaction", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help=f"a USS file (default {DATA})")
    parser.add_argument("--runs", type=int, default=3, help="cross-validations with different seeds; medians quoted")
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--no-cache", action="store_true", help="embed the texts again")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a training setting, e.g. --set hidden=64 --set class_weight_power=1",
    )
    args = parser.parse_args(argv)
    defaults = SatisfactionTrainingConfig()
    args.overrides = {}
    for item in args.set:
        name, _, value = item.partition("=")
        if not hasattr(defaults, name):
            parser.error(f"no training setting {name!r}")
        kind = type(getattr(defaults, name))
        args.overrides[name] = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
    return args


def main(argv: list[str] | None = None) -> int:
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
