import re

import pytest
import torch

from apps.assistant.ml.encoder import encoder_load
from apps.assistant.ml.intent import (
    OUT_OF_SCOPE,
    IntentModel,
    IntentTrainingConfig,
    _choose_oos_rule,
    stratified_split,
    train_intent_model,
)
from apps.assistant.ml.metrics import classification_report
from apps.assistant.ml.preprocess import preprocess
from tests.assistant.conftest import INTENT_EXAMPLES, tiny_encoder_folder


def _examples(extra: dict[str, list[str]] | None = None) -> tuple[list[str], list[str]]:
    pairs = [(text, label) for label, texts in {**INTENT_EXAMPLES, **(extra or {})}.items() for text in texts]
    return [text for text, _ in pairs], [label for _, label in pairs]


def test_fine_tuning_learns_the_training_intents_and_returns_a_calibrated_top3(tiny_encoder):
    texts, labels = _examples()

    model = train_intent_model(
        texts,
        labels,
        config=IntentTrainingConfig(
            mode="finetune", epochs=40, patience=40, learning_rate=1e-2, encoder_learning_rate=1e-3, batch_size=4
        ),
    )
    predictions = model.predict(texts)

    accuracy = sum(p.best_guess == label for p, label in zip(predictions, labels, strict=True)) / len(labels)
    assert accuracy >= 0.9
    first = predictions[0]
    assert len({label for label, _ in first.top3}) == 3
    assert [p for _, p in first.top3] == sorted((p for _, p in first.top3), reverse=True)
    assert sum(p for _, p in first.top3) <= 1.0 + 1e-6
    assert first.confidence == first.top3[0][1]
    assert model.calibration.temperature > 0


def test_a_saved_model_loads_and_predicts_the_same(tiny_encoder, tmp_path):
    texts, labels = _examples()
    model = train_intent_model(texts, labels, config=IntentTrainingConfig(mode="head", epochs=5))

    model.save(tmp_path / "v1")
    loaded = IntentModel.load(tmp_path / "v1")

    assert loaded.labels == model.labels
    assert torch.allclose(loaded.probabilities(texts), model.probabilities(texts), atol=1e-6)


def test_a_fine_tuned_model_carries_its_own_encoder(tiny_encoder, tmp_path):
    texts, labels = _examples()
    model = train_intent_model(texts, labels, config=IntentTrainingConfig(mode="finetune", epochs=2))

    model.save(tmp_path / "v2")

    assert (tmp_path / "v2" / "encoder" / "config.json").exists()
    assert torch.allclose(IntentModel.load(tmp_path / "v2").probabilities(texts), model.probabilities(texts), atol=1e-5)


def test_loading_on_an_encoder_of_another_size_fails_clearly(tiny_encoder, tmp_path, settings):
    texts, labels = _examples()
    model = train_intent_model(texts, labels, config=IntentTrainingConfig(mode="head", epochs=1))
    model.save(tmp_path / "v1")
    other = tiny_encoder_folder(tmp_path / "other-encoder", hidden_size=16)
    manifest = (tmp_path / "v1" / "intent.json").read_text().replace(str(tiny_encoder), str(other))
    (tmp_path / "v1" / "intent.json").write_text(manifest)

    with pytest.raises(ValueError, match="16-d embeddings; this model was trained on 32-d"):
        IntentModel.load(tmp_path / "v1")


def test_an_explicit_oos_class_is_learnt(tiny_encoder):
    texts, labels = _examples(
        {
            OUT_OF_SCOPE: [
                "tell me a joke",
                "the weather",
                "football song",
                "pizza movie",
                "a joke please",
                "weather for football",
            ]
        }
    )

    model = train_intent_model(
        texts,
        labels,
        config=IntentTrainingConfig(
            mode="finetune", epochs=40, patience=40, learning_rate=1e-2, encoder_learning_rate=1e-3, batch_size=4
        ),
    )

    flagged = [p.out_of_scope for p in model.predict(["tell me a joke", "the weather"])]
    assert flagged == [True, True]
    assert model.predict(["tell me a joke"])[0].intent == OUT_OF_SCOPE


def test_without_oos_examples_the_threshold_keeps_the_chosen_share_of_correct_answers():
    probabilities = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.55, 0.45], [0.3, 0.7]])
    targets = torch.tensor([0, 0, 0, 0, 1])

    threshold, margin = _choose_oos_rule(probabilities, targets, ["a", "b"], recall=0.75)

    confident = probabilities.max(dim=1).values >= threshold
    assert confident.sum() >= 3
    assert 0.55 <= threshold <= 0.7
    assert margin >= 0


def test_with_oos_examples_the_rule_separates_them():
    # Two in-scope labels and oos; oos messages come with flat probabilities.
    probabilities = torch.tensor(
        [[0.9, 0.05, 0.05], [0.85, 0.1, 0.05], [0.1, 0.85, 0.05], [0.4, 0.35, 0.25], [0.38, 0.34, 0.28]]
    )
    targets = torch.tensor([0, 0, 1, 2, 2])

    threshold, margin = _choose_oos_rule(probabilities, targets, ["a", "b", OUT_OF_SCOPE], recall=0.98)

    flagged = (probabilities.max(1).values < threshold) | (
        probabilities.topk(2).values[:, 0] - probabilities.topk(2).values[:, 1] < margin
    )
    assert flagged.tolist() == [False, False, False, True, True]


def test_the_split_holds_out_a_share_of_every_label():
    labels = ["a"] * 10 + ["b"] * 20 + ["c"]

    train, held_out = stratified_split(labels, 0.1, seed=1)

    assert sorted(train + held_out) == list(range(31))
    assert [labels[i] for i in held_out].count("a") == 1
    assert [labels[i] for i in held_out].count("b") == 2
    assert "c" not in [labels[i] for i in held_out]


def test_classification_report_on_a_hand_made_case():
    truth = ["a", "a", "b", "b", OUT_OF_SCOPE, OUT_OF_SCOPE]
    predicted = ["a", "b", "b", "b", OUT_OF_SCOPE, "a"]

    report = classification_report(truth, predicted)

    assert report["accuracy"] == pytest.approx(4 / 6)
    assert report["per_label"]["a"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert report["per_label"]["b"]["precision"] == pytest.approx(2 / 3)
    assert report["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert report["confusion"][0] == [1, 1, 0]
    assert report["in_scope_accuracy"] == pytest.approx(3 / 4)
    assert report["oos_recall"] == pytest.approx(0.5)
    assert report["oos_precision"] == pytest.approx(1.0)


def test_preprocess_normalises_collapses_and_truncates(settings):
    assert preprocess("  \uff23\uff41\uff52\uff44\u00a0 not\n\narrived  ") == "Card not arrived"
    assert len(preprocess("x" * 5000)) == 1000


def test_preprocess_runs_the_configured_redactor(settings):
    settings.HELPDESK_REDACTOR = "tests.assistant.test_intent_model.redact_digits"

    assert preprocess("card 4111 1111") == "card [NUMBER] [NUMBER]"


def redact_digits(text: str, *, names=()) -> str:
    return re.sub(r"\d+", "[NUMBER]", text)


def test_a_missing_encoder_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"config\.json missing"):
        encoder_load(tmp_path / "nothing-here")
