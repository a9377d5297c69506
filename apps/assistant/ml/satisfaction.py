"""Satisfaction, turn by turn: the issue's neural network, h = sigmoid(Wx + b), trained by gradient descent.

x describes the conversation so far: the frozen encoder's embeddings of the recent turns, one by one, and of the
last two together with role markers; the role of each; and structured features (turns so far and who spoke them,
the lexicon sentiment of the customer's last turns and its trajectory, the bot's apologies and repeats, handoffs,
failed answers and waiting times when the conversation records them, each missing value 0 beside a mask). A
layer of sigmoid units reads x, a softmax over the ratings 1-5 reads them. Real ratings are mostly one class
(3s in USS), so the loss weighs each class by its share ** -class_weight_power, and a per-class decision bias
completes the balanced decision that UAR rewards (see _decision_bias).

The predicted score is the expected rating (what the inbox's trend shows), the label the most likely one after
the decision bias (what UAR, kappa and F1 measure). Texts go through ml/preprocess.py; each distinct text is
embedded once (TextEmbeddings), which makes the ten folds of cross-validation cost one pass of the encoder.
"""

import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from apps.assistant.dialogues import (
    RATINGS,
    SatisfactionSample,
    conversation_context,
    folds_contiguous,
)
from apps.assistant.ml.calibration import temperature_fit
from apps.assistant.ml.config import SatisfactionTrainingConfig, encoder_path
from apps.assistant.ml.encoder import Encoder, encoder_load
from apps.assistant.ml.metrics import satisfaction_report
from apps.assistant.ml.satisfaction_features import (
    STRUCTURED,
    ConversationFeatures,
    ProgressCallback,
    TextEmbeddings,
    Turn,
)

CLASSES = len(RATINGS)
_NEVER = 1e4  # a decision bias no logit overcomes


@dataclass(frozen=True)
class SatisfactionPrediction:
    score: float  # the expected rating, 1-5, rounded to 2 places
    label: int  # the predicted rating, 1-5
    distribution: list[float]  # P(rating 1) .. P(rating 5)


# --- The network -------------------------------------------------------------------------------------------


class SatisfactionNetwork(nn.Module):
    """Standardised x → sigmoid hidden units → logits of ratings 1-5, trained with class weights. The
    distribution (and so the score) undoes the weights: logits + ``score_bias`` (power * log share of each
    rating, Menon et al. 2021), divided by a ``temperature`` fitted on validation (Guo et al. 2017). The label is
    the argmax of logits + ``decision_bias``."""

    def __init__(self, inputs: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(inputs))
        self.register_buffer("scale", torch.ones(inputs))
        self.register_buffer("decision_bias", torch.zeros(CLASSES))
        self.register_buffer("score_bias", torch.zeros(CLASSES))
        self.register_buffer("temperature", torch.ones(1))
        self.dropout = nn.Dropout(dropout)
        self.hidden = nn.Linear(inputs, hidden)
        self.output = nn.Linear(hidden, CLASSES)

    def standardise_on(self, x: torch.Tensor) -> None:
        self.mean.copy_(x.mean(dim=0))
        spread = x.std(dim=0) if len(x) > 1 else torch.ones(x.shape[1])
        self.scale.copy_(torch.where(spread > 1e-6, spread, torch.ones_like(spread)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = torch.sigmoid(self.hidden(self.dropout((x - self.mean) / self.scale)))
        return self.output(self.dropout(hidden))


@dataclass
class FittedNetwork:
    network: SatisfactionNetwork
    validation: dict[str, Any] = field(default_factory=dict)


@torch.inference_mode()
def _readings(network: SatisfactionNetwork, x: torch.Tensor) -> tuple[torch.Tensor, list[int], list[float]]:
    """(distributions, labels 1-5, expected scores) of rows ``x``."""
    network.eval()
    logits = network(x) if len(x) else torch.empty(0, CLASSES)
    distributions = torch.softmax((logits + network.score_bias) / network.temperature, dim=-1)
    labels = (logits + network.decision_bias).argmax(dim=-1) + 1
    scores = distributions @ torch.arange(1, CLASSES + 1, dtype=torch.float32)
    return distributions, labels.tolist(), scores.tolist()


def _class_weights(targets: torch.Tensor, power: float) -> torch.Tensor:
    counts = torch.bincount(targets, minlength=CLASSES).float()
    weights = torch.where(counts > 0, (counts / counts.sum()).clamp(min=1e-12) ** -power, torch.zeros(CLASSES))
    return weights / (weights * counts).sum() * counts.sum()  # mean weight per example 1: learning rates carry over


def _dialogue_split(dialogues: list[int], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Row indices (training, validation), whole dialogues held out; none held out when there are too few."""
    distinct = sorted(set(dialogues))
    random.Random(seed).shuffle(distinct)
    held = set(distinct[: round(len(distinct) * fraction)]) if len(distinct) >= 5 else set()
    training = [row for row, dialogue in enumerate(dialogues) if dialogue not in held]
    return training, [row for row, dialogue in enumerate(dialogues) if dialogue in held]


def _validation_temperature(network: SatisfactionNetwork, x: torch.Tensor, targets: torch.Tensor) -> float:
    with torch.no_grad():  # not inference_mode: its tensors cannot take part in the temperature's gradient
        network.eval()
        logits = network(x) + network.score_bias
    return temperature_fit(logits, targets)


def _rare_labels_bias(counts: torch.Tensor, min_examples: int) -> torch.Tensor:
    """-_NEVER for the ratings with fewer than ``min_examples`` training examples (never the most frequent)."""
    return torch.where(counts < min(float(min_examples), float(counts.max())), -_NEVER, 0.0)


def _decision_bias(counts: torch.Tensor, config: SatisfactionTrainingConfig) -> torch.Tensor:
    """Trained with weights share ** -power, the logits lean towards the rare ratings part of the way; this bias
    takes them the rest of the way to the balanced decision (argmax of P(rating | x) / share, which maximises
    UAR), counting a share under ``decision_share_floor`` as that floor, so that a rating seen a few dozen times
    is not predicted for a tenth of the turns. Ratings under ``min_label_examples`` are never predicted."""
    shares = (counts / counts.sum()).clamp(min=config.decision_share_floor)
    return -(1 - config.class_weight_power) * shares.log() + _rare_labels_bias(counts, config.min_label_examples)


def fit_network(
    x: torch.Tensor,
    labels: list[int],
    dialogues: list[int],
    *,
    config: SatisfactionTrainingConfig,
    progress: ProgressCallback | None = None,
) -> FittedNetwork:
    """Trains on rows ``x`` rated ``labels`` (1-5), keeping a share of the ``dialogues`` (one id per row) for
    early stopping and the score's temperature."""
    if len(set(labels)) < 2:
        raise ValueError("A satisfaction model needs ratings of at least two values")
    torch.manual_seed(config.seed)
    generator = random.Random(config.seed)
    targets = torch.tensor(labels) - 1
    train_rows, validation_rows = _dialogue_split(dialogues, config.validation_fraction, config.seed)
    network = SatisfactionNetwork(x.shape[1], config.hidden, config.dropout)
    network.standardise_on(x[train_rows])
    weights = _class_weights(targets[train_rows], config.class_weight_power)
    optimiser = torch.optim.Adam(network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    report = progress or (lambda fraction, note: None)
    best_loss, best_state, stale, epoch = math.inf, None, 0, 0
    for epoch in range(1, config.epochs + 1):
        network.train()
        shuffled = train_rows[:]
        generator.shuffle(shuffled)
        for start in range(0, len(shuffled), config.batch_size):
            batch = shuffled[start : start + config.batch_size]
            optimiser.zero_grad()
            loss = nn.functional.cross_entropy(network(x[batch]), targets[batch], weight=weights)
            loss.backward()
            optimiser.step()
        if not validation_rows:
            continue
        with torch.inference_mode():
            network.eval()
            loss = float(
                nn.functional.cross_entropy(network(x[validation_rows]), targets[validation_rows], weight=weights)
            )
        report(epoch / config.epochs, f"epoch {epoch}: validation loss {loss:.4f}")
        if loss < best_loss - 1e-4:
            best_loss, stale = loss, 0
            best_state = {key: value.detach().clone() for key, value in network.state_dict().items()}
        else:
            stale += 1
            if stale >= config.patience:
                break
    if best_state is not None:
        network.load_state_dict(best_state)
    validation: dict[str, Any] = {"epochs": epoch, "dialogues": len({dialogues[row] for row in validation_rows})}
    counts = torch.bincount(targets[train_rows], minlength=CLASSES).float()
    network.decision_bias.copy_(_decision_bias(counts, config))
    network.score_bias.copy_(config.class_weight_power * (counts / counts.sum()).clamp(min=1e-4).log())
    if validation_rows:
        network.temperature.fill_(_validation_temperature(network, x[validation_rows], targets[validation_rows]))
        validation.update(loss=round(best_loss, 4), temperature=round(float(network.temperature), 4))
    network.eval()
    return FittedNetwork(network, validation)


# --- The model ---------------------------------------------------------------------------------------------


class SatisfactionModel:
    """A trained network with the feature builder it reads; what the registry stores and inference serves."""

    def __init__(self, fitted: FittedNetwork, features: ConversationFeatures, config: SatisfactionTrainingConfig):
        self.network = fitted.network.eval()
        self.validation = fitted.validation
        self.features = features
        self.config = config

    @property
    def encoder(self) -> Encoder:
        return self.features.embeddings.encoder

    def predict(self, contexts: list[list[Turn]]) -> list[SatisfactionPrediction]:
        """One prediction per context (a conversation so far, cut with dialogues.conversation_context)."""
        distributions, labels, scores = _readings(self.network, self.features.matrix(contexts))
        return [
            SatisfactionPrediction(round(score, 2), label, [round(p, 4) for p in row])
            for row, label, score in zip(distributions.tolist(), labels, scores, strict=True)
        ]

    def predict_conversation(self, turns: list[Turn]) -> SatisfactionPrediction:
        """Live: the satisfaction after the latest turn, reading the conversation up to and including it."""
        return self.predict([conversation_context(turns, len(turns) - 1, include_turn=True)])[0]

    def save(self, folder: Path) -> None:
        """Writes satisfaction.json (configuration, feature layout, the encoder it reads) and network.pt."""
        folder.mkdir(parents=True, exist_ok=True)
        torch.save(self.network.state_dict(), folder / "network.pt")
        manifest = {
            "config": asdict(self.config),
            "inputs": self.features.dimension,
            "structured": list(STRUCTURED),
            "encoder": str(self.encoder.path),
            "encoder_dimension": self.encoder.dimension,
            "validation": self.validation,
        }
        (folder / "satisfaction.json").write_text(json.dumps(manifest, indent=2))

    @classmethod
    def load(cls, folder: Path, device: torch.device | None = None) -> "SatisfactionModel":
        manifest = json.loads((folder / "satisfaction.json").read_text())
        if manifest["structured"] != list(STRUCTURED):
            raise ValueError(f"{folder} was saved with other structured features; train it again")
        encoder = encoder_load(Path(manifest["encoder"]) if manifest["encoder"] else encoder_path(), device)
        if encoder.dimension != manifest["encoder_dimension"]:
            raise ValueError(
                f"The encoder at {encoder.path} gives {encoder.dimension}-d embeddings; this model was trained on "
                f"{manifest['encoder_dimension']}-d ones"
            )
        config = SatisfactionTrainingConfig(**manifest["config"])
        network = SatisfactionNetwork(manifest["inputs"], config.hidden, config.dropout)
        network.load_state_dict(torch.load(folder / "network.pt", map_location="cpu"))
        features = ConversationFeatures(TextEmbeddings(encoder, limit=SERVING_CACHE), config)
        return cls(FittedNetwork(network, manifest["validation"]), features, config)


# Texts a serving model keeps embedded: a conversation's recent turns come back with every new message.
SERVING_CACHE = 2048


def train_satisfaction_model(
    samples: list[SatisfactionSample],
    *,
    config: SatisfactionTrainingConfig | None = None,
    encoder: Encoder | None = None,
    progress: ProgressCallback | None = None,
) -> SatisfactionModel:
    """Train on ``samples`` (dialogues.satisfaction_samples); the validation dialogues are carved out here."""
    config = config or SatisfactionTrainingConfig()
    report = progress or (lambda fraction, note: None)
    features = ConversationFeatures(TextEmbeddings(encoder or encoder_load()), config)
    x = features.matrix([sample.context for sample in samples], lambda f, note: report(0.3 * f, note))
    fitted = fit_network(
        x,
        [sample.label for sample in samples],
        [sample.dialogue for sample in samples],
        config=config,
        progress=lambda fraction, note: report(0.3 + 0.7 * fraction, note),
    )
    # Serving keeps a bounded cache, not every training text.
    features.embeddings = TextEmbeddings(features.embeddings.encoder, limit=SERVING_CACHE)
    return SatisfactionModel(fitted, features, config)


# --- The USS protocol --------------------------------------------------------------------------------------


@dataclass
class CrossValidation:
    pooled: dict[str, Any]  # every test turn of every fold together (the paper's figures)
    folds: list[dict[str, Any]]  # each fold's figures, with its training seconds
    mean: dict[str, float]  # the mean over folds of the headline figures
    seconds: float  # training only, all folds
    truth: list[int] = field(default_factory=list)  # pooled, in dialogue order
    labels: list[int] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)


HEADLINE = ("uar", "kappa", "rho", "f1_dissatisfied", "mae")


def cross_validate(
    samples: list[SatisfactionSample],
    x: torch.Tensor,
    dialogue_count: int,
    *,
    folds: int = 10,
    config: SatisfactionTrainingConfig | None = None,
    progress: ProgressCallback | None = None,
) -> CrossValidation:
    """Sun et al.'s protocol: the dialogues, in order, cut into ``folds`` contiguous parts; fold k tests on the
    samples of part k and trains on the rest. ``x``: the rows of ``samples`` (ConversationFeatures.matrix), built
    once for every fold and seed."""
    config = config or SatisfactionTrainingConfig()
    report = progress or (lambda fraction, note: None)
    truth, labels, scores, per_fold = [], [], [], []
    started = time.monotonic()
    for number, part in enumerate(folds_contiguous(dialogue_count, folds), start=1):
        test = [row for row, sample in enumerate(samples) if sample.dialogue in part]
        train = [row for row, sample in enumerate(samples) if sample.dialogue not in part]
        fold_started = time.monotonic()
        fitted = fit_network(
            x[train], [samples[row].label for row in train], [samples[row].dialogue for row in train], config=config
        )
        seconds = time.monotonic() - fold_started
        _, fold_labels, fold_scores = _readings(fitted.network, x[test])
        fold_truth = [samples[row].label for row in test]
        figures = satisfaction_report(fold_truth, fold_labels, fold_scores)
        per_fold.append({**{key: figures[key] for key in HEADLINE}, "n": len(test), "seconds": round(seconds, 2)})
        truth += fold_truth
        labels += fold_labels
        scores += fold_scores
        report(number / folds, f"fold {number}: UAR {figures['uar']:.3f}, kappa {figures['kappa']:.3f}")
    mean = {key: sum(fold[key] for fold in per_fold) / len(per_fold) for key in HEADLINE}
    pooled = satisfaction_report(truth, labels, scores)
    return CrossValidation(pooled, per_fold, mean, time.monotonic() - started, truth, labels, scores)
