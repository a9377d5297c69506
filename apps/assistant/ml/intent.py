"""Intent classification with out-of-scope detection.

Two ways to train, both ending in the same model: ``head`` trains a linear layer on frozen sentence embeddings
(seconds on a CPU: the demo's fast version); ``finetune`` trains the encoder and the layer together (the full
version). Either way the validation split drives early stopping, calibrates a softmax temperature, and picks
the out-of-scope threshold and top-2 margin; an explicit ``oos`` label is also learnt as a class.
"""

import json
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from apps.assistant.ml.calibration import temperature_fit
from apps.assistant.ml.config import OUT_OF_SCOPE, IntentTrainingConfig, encoder_path
from apps.assistant.ml.encoder import Encoder, encoder_load
from apps.assistant.ml.preprocess import preprocess_many

ProgressCallback = Callable[[float, str], None]


@dataclass(frozen=True)
class IntentPrediction:
    intent: str  # OUT_OF_SCOPE when the model is not confident enough
    confidence: float
    top3: list[tuple[str, float]]
    out_of_scope: bool
    best_guess: str  # the top label even when out of scope, for clarifying questions


@dataclass
class IntentCalibration:
    temperature: float = 1.0
    threshold: float = 0.0
    margin: float = 0.0
    validation: dict[str, float] = field(default_factory=dict)


class IntentClassifier(nn.Module):
    def __init__(self, encoder: Encoder, labels: list[str]) -> None:
        super().__init__()
        self.encoder = encoder
        self.labels = labels
        self.head = nn.Sequential(nn.Dropout(0.1), nn.Linear(encoder.dimension, len(labels)))

    def forward(self, texts: list[str]) -> torch.Tensor:
        return self.head(self.encoder(texts))


class IntentModel:
    """A trained classifier with its calibration; what the registry stores and inference serves."""

    def __init__(self, classifier: IntentClassifier, calibration: IntentCalibration, mode: str) -> None:
        self.classifier = classifier.eval()
        self.calibration = calibration
        self.mode = mode

    @property
    def labels(self) -> list[str]:
        return self.classifier.labels

    @torch.inference_mode()
    def probabilities(self, texts: list[str], batch_size: int = 64) -> torch.Tensor:
        cleaned = preprocess_many(texts)
        logits = [self.classifier(cleaned[i : i + batch_size]).cpu() for i in range(0, len(cleaned), batch_size)]
        stacked = torch.cat(logits) if logits else torch.empty(0, len(self.labels))
        return torch.softmax(stacked / self.calibration.temperature, dim=-1)

    def predict(self, texts: list[str]) -> list[IntentPrediction]:
        return [self._decide(row) for row in self.probabilities(texts)]

    def _decide(self, probabilities: torch.Tensor) -> IntentPrediction:
        top = torch.topk(probabilities, k=min(3, len(self.labels)))
        top3 = [(self.labels[i], round(float(p), 4)) for p, i in zip(top.values, top.indices, strict=True)]
        best, confidence = top3[0]
        runner_up = top3[1][1] if len(top3) > 1 else 0.0
        unsure = confidence < self.calibration.threshold or confidence - runner_up < self.calibration.margin
        out_of_scope = best == OUT_OF_SCOPE or unsure
        return IntentPrediction(
            intent=OUT_OF_SCOPE if out_of_scope else best,
            confidence=confidence,
            top3=top3,
            out_of_scope=out_of_scope,
            best_guess=best,
        )

    def save(self, folder: Path) -> None:
        """Writes intent.json and head.pt; a fine-tuned encoder also goes in ``folder/encoder``."""
        folder.mkdir(parents=True, exist_ok=True)
        encoder = self.classifier.encoder
        if self.mode == "finetune":
            encoder.transformer.save_pretrained(folder / "encoder")
            encoder.tokenizer.save_pretrained(folder / "encoder")
        torch.save(self.classifier.head.state_dict(), folder / "head.pt")
        manifest = {
            "mode": self.mode,
            "labels": self.labels,
            "calibration": asdict(self.calibration),
            # A head-only model names the encoder it was trained on; loading checks it is the same one.
            "encoder": "bundled" if self.mode == "finetune" else str(encoder.path),
            "encoder_dimension": encoder.dimension,
        }
        (folder / "intent.json").write_text(json.dumps(manifest, indent=2))

    @classmethod
    def load(cls, folder: Path, device: torch.device | None = None) -> "IntentModel":
        manifest = json.loads((folder / "intent.json").read_text())
        if manifest["encoder"] == "bundled":
            encoder = encoder_load(folder / "encoder", device)
        else:
            encoder = encoder_load(Path(manifest["encoder"]) if manifest["encoder"] else encoder_path(), device)
        if encoder.dimension != manifest["encoder_dimension"]:
            raise ValueError(
                f"The encoder at {encoder.path} gives {encoder.dimension}-d embeddings; this model was trained on "
                f"{manifest['encoder_dimension']}-d ones"
            )
        classifier = IntentClassifier(encoder, manifest["labels"])
        classifier.head.load_state_dict(torch.load(folder / "head.pt", map_location=encoder.device))
        return cls(classifier, IntentCalibration(**manifest["calibration"]), manifest["mode"])


def stratified_split(labels: list[str], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Indices (train, held out): ``fraction`` of each label held out, at least one where a label has two."""
    by_label: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        by_label.setdefault(label, []).append(index)
    generator = random.Random(seed)
    train, held_out = [], []
    for indices in by_label.values():
        shuffled = indices[:]
        generator.shuffle(shuffled)
        count = max(1, round(len(shuffled) * fraction)) if len(shuffled) > 1 else 0
        held_out.extend(shuffled[:count])
        train.extend(shuffled[count:])
    return sorted(train), sorted(held_out)


def _choose_oos_rule(probabilities: torch.Tensor, targets: torch.Tensor, labels: list[str], recall: float):
    """(threshold, margin) from validation: with oos examples, the pair that best balances in-scope accuracy
    and oos recall; without, the loosest pair that keeps ``recall`` of correct in-scope answers."""
    top2 = torch.topk(probabilities, k=min(2, probabilities.shape[1]), dim=-1)
    confidence = top2.values[:, 0]
    margin = confidence - (top2.values[:, 1] if top2.values.shape[1] > 1 else 0)
    predicted = top2.indices[:, 0]
    oos_index = labels.index(OUT_OF_SCOPE) if OUT_OF_SCOPE in labels else None
    is_oos = targets == oos_index if oos_index is not None else torch.zeros_like(targets, dtype=torch.bool)
    correct = (predicted == targets) & ~is_oos
    if not is_oos.any():
        if not correct.any():
            return 0.0, 0.0
        quantile = 1.0 - recall
        return float(torch.quantile(confidence[correct], quantile)), float(
            torch.quantile(margin[correct], quantile)
        ) / 2
    best, best_score = (0.0, 0.0), -1.0
    for threshold in torch.linspace(0, 0.95, 20).tolist():
        for margin_floor in (0.0, 0.05, 0.1, 0.2):
            flagged = (confidence < threshold) | (margin < margin_floor) | (predicted == oos_index)
            in_scope_accuracy = (correct & ~flagged).sum() / max(1, int((~is_oos).sum()))
            oos_recall = (flagged & is_oos).sum() / max(1, int(is_oos.sum()))
            score = float(in_scope_accuracy + oos_recall)
            if score > best_score:
                best, best_score = (threshold, margin_floor), score
    return best


def _batches(indices: list[int], size: int, generator: random.Random) -> list[list[int]]:
    shuffled = indices[:]
    generator.shuffle(shuffled)
    return [shuffled[i : i + size] for i in range(0, len(shuffled), size)]


def train_intent_model(
    texts: list[str],
    labels: list[str],
    *,
    config: IntentTrainingConfig | None = None,
    encoder: Encoder | None = None,
    progress: ProgressCallback | None = None,
) -> IntentModel:
    """Train on (texts, labels); the validation split is carved out of them here."""
    config = config or IntentTrainingConfig()
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    label_names = sorted(set(labels))
    if len(label_names) < 2:
        raise ValueError("An intent model needs at least two labels")
    torch.manual_seed(config.seed)
    generator = random.Random(config.seed)
    report = progress or (lambda fraction, note: None)
    encoder = encoder or encoder_load()
    cleaned = preprocess_many(texts)
    targets = torch.tensor([label_names.index(label) for label in labels])
    train_idx, val_idx = stratified_split(labels, config.validation_fraction, config.seed)
    classifier = IntentClassifier(encoder, label_names).to(encoder.device)
    if config.mode == "head":
        encoder.requires_grad_(False)
        features = encoder.embed(cleaned).to(encoder.device)

        def logits_of(indices: list[int]) -> torch.Tensor:
            return classifier.head(features[indices])

        parameters = [{"params": classifier.head.parameters(), "lr": config.learning_rate}]
    else:
        encoder.requires_grad_(True)

        def logits_of(indices: list[int]) -> torch.Tensor:
            return classifier([cleaned[i] for i in indices])

        parameters = [
            {"params": classifier.head.parameters(), "lr": config.learning_rate},
            {"params": encoder.parameters(), "lr": config.encoder_learning_rate},
        ]
    optimiser = torch.optim.AdamW(parameters, weight_decay=0.01)
    device_targets = targets.to(encoder.device)

    @torch.no_grad()
    def validation_logits() -> torch.Tensor:
        classifier.eval()
        chunks = [logits_of(val_idx[i : i + 128]) for i in range(0, len(val_idx), 128)]
        classifier.train()
        return torch.cat(chunks).cpu() if chunks else torch.empty(0, len(label_names))

    best_accuracy, best_state, stale = -1.0, None, 0
    for epoch in range(config.epochs):
        classifier.train()
        for batch in _batches(train_idx, config.batch_size, generator):
            optimiser.zero_grad()
            loss = nn.functional.cross_entropy(logits_of(batch), device_targets[batch])
            loss.backward()
            optimiser.step()
        logits = validation_logits()
        accuracy = float((logits.argmax(-1) == targets[val_idx]).float().mean()) if val_idx else 0.0
        report((epoch + 1) / config.epochs, f"epoch {epoch + 1}: validation accuracy {accuracy:.3f}")
        # A tie goes to the later epoch: same validation accuracy, more training.
        if accuracy >= best_accuracy:
            stale = 0 if accuracy > best_accuracy else stale + 1
            best_accuracy = accuracy
            best_state = {key: value.detach().clone() for key, value in classifier.state_dict().items()}
        else:
            stale += 1
        if stale >= config.patience:
            break
    if best_state is not None:
        classifier.load_state_dict(best_state)
    encoder.requires_grad_(False)
    calibration = IntentCalibration(validation={"accuracy": best_accuracy, "epochs": epoch + 1})
    if val_idx:
        logits = validation_logits()
        calibration.temperature = temperature_fit(logits, targets[val_idx])
        probabilities = torch.softmax(logits / calibration.temperature, dim=-1)
        calibration.threshold, calibration.margin = _choose_oos_rule(
            probabilities, targets[val_idx], label_names, config.in_scope_recall
        )
    return IntentModel(classifier, calibration, config.mode)
