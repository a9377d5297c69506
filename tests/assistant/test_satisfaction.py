"""The satisfaction model: metrics, the USS protocol's folds, training through the registry, serving."""

import json
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from apps.assistant.dialogues import (
    conversation_context,
    conversation_turns,
    dialogues_samples,
    dialogues_split,
    folds_contiguous,
    rated_dialogues,
    satisfaction_samples,
)
from apps.assistant.inference import satisfaction_predict
from apps.assistant.jobs import evaluation_enqueue, training_enqueue
from apps.assistant.ml.config import SatisfactionTrainingConfig
from apps.assistant.ml.metrics import (
    average_ranks,
    cohen_kappa,
    f1_dissatisfied,
    mean_absolute_error,
    satisfaction_report,
    spearman_rho,
    unweighted_average_recall,
)
from apps.assistant.ml.satisfaction import SatisfactionModel, train_satisfaction_model
from apps.assistant.models import ModelAlias, ModelKind, ModelVersion, RatedDialogue
from apps.assistant.registry import model_version_promote
from apps.assistant.selectors import model_alias_version
from apps.assistant.training import model_version_train
from apps.assistant.training_tasks import train_model_version
from apps.conversations.services import message_post, survey_submit

FAST = SatisfactionTrainingConfig(pair_text=False, epochs=30, patience=30, hidden=16, batch_size=16, learning_rate=1e-2)


@pytest.fixture
def model_store(settings, tmp_path):
    settings.MODEL_STORE = tmp_path / "models"
    return settings.MODEL_STORE


def synthetic_turns(index: int) -> tuple[list[dict], int]:
    """A card question; the bot either helps (the customer then rates 4) or fails (2)."""
    helped = index % 2 == 0
    reply = "your card has arrived, thanks for waiting" if helped else "sorry, i cannot help with your card"
    after = "thanks, great" if helped else "this is useless, i want a person"
    return [
        {"role": "customer", "text": f"where is my new card {index % 5}", "rating": 3},
        {"role": "bot", "text": reply, "rating": None},
        {"role": "customer", "text": after, "rating": 4 if helped else 2},
        {"role": "bot", "text": "anything else?", "rating": None},
    ], (4 if helped else 2)


def store_synthetic(count: int = 40) -> None:
    rows = []
    for index in range(count):
        turns, csat = synthetic_turns(index)
        rows.append(RatedDialogue(source="jsonl", external_id=f"s-{index}", turns=turns, csat=csat))
    RatedDialogue.objects.bulk_create(rows)


def synthetic_samples(count: int = 40):
    return [
        sample for index in range(count) for sample in satisfaction_samples(*synthetic_turns(index), dialogue=index)
    ]


# --- Metrics -----------------------------------------------------------------------------------------------


def test_uar_is_the_mean_recall_over_the_classes_in_the_truth():
    # recall of 3: 2/3, of 2: 1/1, of 4: 0/1; class 5, predicted but absent from the truth, is not averaged.
    assert unweighted_average_recall([3, 3, 3, 2, 4], [3, 3, 2, 2, 5]) == pytest.approx((2 / 3 + 1 + 0) / 3)


def test_cohens_kappa_unweighted():
    # observed agreement 3/4; chance (2*1 + 2*3) / 16 = 1/2
    assert cohen_kappa([1, 1, 2, 2], [1, 2, 2, 2]) == pytest.approx(0.5)
    assert cohen_kappa([3, 3, 3], [3, 3, 3]) == 0.0  # total chance agreement
    assert cohen_kappa([1, 2, 3], [3, 1, 2]) == pytest.approx(-0.5)


def test_spearman_averages_tied_ranks():
    assert average_ranks([10, 20, 20, 30, 20]) == [1, 3, 3, 5, 3]
    # ranks [1, 2.5, 2.5, 4] and [1, 3, 2, 4]: 4.5 / sqrt(4.5 * 5)
    assert spearman_rho([1, 2, 2, 3], [1, 3, 2, 4]) == pytest.approx(0.9486832980505138)
    assert spearman_rho([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert spearman_rho([3, 3, 3], [1, 2, 3]) == 0.0  # a constant side has no ranking


def test_f1_of_the_dissatisfied_class_and_mae():
    # 'rating < 3' in truth at 0, 1, 4; predicted at 0, 2, 4: precision 2/3, recall 2/3
    assert f1_dissatisfied([1, 2, 3, 4, 2], [2, 3, 2, 4, 1]) == pytest.approx(2 / 3)
    assert f1_dissatisfied([3, 4], [3, 4]) == 0.0
    assert mean_absolute_error([3, 4, 5], [2.5, 4, 3]) == pytest.approx(2.5 / 3)


def test_the_satisfaction_report_gathers_the_figures():
    report = satisfaction_report([3, 3, 2, 4], [3, 2, 2, 4], [3.1, 2.6, 2.2, 3.9])

    assert report["uar"] == pytest.approx((1 / 2 + 1 + 1) / 3)
    assert report["rho"] == pytest.approx(spearman_rho([3.1, 2.6, 2.2, 3.9], [3, 3, 2, 4]))
    assert report["mae"] == pytest.approx((0.1 + 0.4 + 0.2 + 0.1) / 4)
    assert report["support"] == {"1": 0, "2": 1, "3": 2, "4": 1, "5": 0}
    assert report["confusion"][2] == [0, 1, 1, 0, 0]  # the 3s: one read as 2, one as 3
    with pytest.raises(ValueError, match="as many predictions as labels"):
        satisfaction_report([3], [3, 3], [3.0])


# --- Samples and folds -------------------------------------------------------------------------------------


def test_a_rated_turn_is_read_from_the_turns_before_it_and_the_overall_rating_from_all():
    turns, csat = synthetic_turns(1)

    samples = satisfaction_samples(turns, csat, dialogue=9)

    assert [(len(sample.context), sample.label) for sample in samples] == [(0, 3), (2, 2), (4, 2)]
    assert {sample.dialogue for sample in samples} == {9}
    assert conversation_context(turns, 2, include_turn=False) == turns[:2]
    assert conversation_context(turns, 2, include_turn=True) == turns[:3]


def test_folds_are_ten_contiguous_equal_parts_each_dialogue_tested_once():
    parts = folds_contiguous(1000)

    assert [(part.start, part.stop) for part in parts] == [(k * 100, (k + 1) * 100) for k in range(10)]
    uneven = folds_contiguous(23)
    assert [len(part) for part in uneven] == [3, 3, 3, 2, 2, 2, 2, 2, 2, 2]
    assert [index for part in uneven for index in part] == list(range(23))
    with pytest.raises(ValueError, match="cannot cut 5 dialogues into 10 folds"):
        folds_contiguous(5)


# --- The model ---------------------------------------------------------------------------------------------


def test_a_saved_model_loads_and_predicts_the_same(tiny_encoder, tmp_path):
    model = train_satisfaction_model(synthetic_samples(), config=FAST)
    contexts = [conversation_context(synthetic_turns(i)[0], 2, include_turn=True) for i in range(4)]

    model.save(tmp_path / "v1")
    loaded = SatisfactionModel.load(tmp_path / "v1")

    assert loaded.predict(contexts) == model.predict(contexts)
    prediction = model.predict(contexts)[0]
    assert 1 <= prediction.score <= 5
    assert prediction.label in (1, 2, 3, 4, 5)
    assert len(prediction.distribution) == 5
    assert sum(prediction.distribution) == pytest.approx(1, abs=1e-3)
    expected = sum(rating * p for rating, p in enumerate(prediction.distribution, start=1))
    assert prediction.score == pytest.approx(expected, abs=0.01)


def test_a_serving_model_keeps_few_texts_yet_reads_a_batch_of_more(tiny_encoder, tmp_path):
    model = train_satisfaction_model(synthetic_samples(), config=FAST)
    model.save(tmp_path / "v1")
    loaded = SatisfactionModel.load(tmp_path / "v1")
    loaded.features.embeddings.limit = 3
    contexts = [synthetic_turns(i)[0] for i in range(6)]

    predictions = loaded.predict(contexts)

    assert predictions == model.predict(contexts)
    assert len(loaded.features.embeddings.vectors) == 3


def test_the_model_learns_that_a_failing_bot_disappoints(tiny_encoder):
    model = train_satisfaction_model(synthetic_samples(), config=FAST)
    helped, failed = synthetic_turns(0)[0][:2], synthetic_turns(1)[0][:2]

    helped_reading, failed_reading = model.predict([helped, failed])

    assert failed_reading.score < helped_reading.score
    assert (helped_reading.label, failed_reading.label) == (4, 2)


def test_loading_refuses_an_encoder_of_another_dimension(tiny_encoder, tmp_path, settings):
    model = train_satisfaction_model(synthetic_samples(), config=FAST)
    model.save(tmp_path / "v1")
    manifest = json.loads((tmp_path / "v1" / "satisfaction.json").read_text())
    manifest["encoder_dimension"] = 384
    (tmp_path / "v1" / "satisfaction.json").write_text(json.dumps(manifest))

    with pytest.raises(ValueError, match="gives 32-d embeddings; this model was trained on 384-d ones"):
        SatisfactionModel.load(tmp_path / "v1")


# --- Through the registry ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_training_registers_a_version_with_metrics_and_makes_it_champion(tiny_encoder, model_store):
    store_synthetic()
    training, held_out = dialogues_split(rated_dialogues())
    assert held_out, "the synthetic set should have held-out dialogues"

    version = model_version_train(kind=ModelKind.SATISFACTION, fast=True, actor=None)

    assert version.status == ModelVersion.Status.READY
    assert (version.model.name, version.model.kind) == ("satisfaction", ModelKind.SATISFACTION)
    assert version.training_size == len(dialogues_samples(training))
    metrics = version.metrics
    assert metrics["n"] == len(dialogues_samples(held_out))
    assert metrics["held_out_dialogues"] == len(held_out)
    for figure in ("uar", "kappa", "rho", "f1_dissatisfied", "mae", "accuracy", "macro_f1"):
        assert isinstance(metrics[figure], float), figure
    assert version.parameters["config"]["pair_text"] is False  # fast
    assert (model_store / version.artifact_path / "satisfaction.json").exists()
    assert model_alias_version(model=version.model, alias=ModelAlias.Name.CHAMPION) == version


@pytest.mark.django_db
def test_training_refuses_without_two_ratings_before_registering_anything(tiny_encoder, model_store):
    with pytest.raises(ValidationError, match="import rated dialogues"):
        model_version_train(kind=ModelKind.SATISFACTION, fast=True, actor=None)

    assert not ModelVersion.objects.exists()


@pytest.mark.django_db
def test_satisfaction_predict_follows_the_champion(
    tiny_encoder, model_store, mladmin_mo, django_capture_on_commit_callbacks, monkeypatch
):
    turns = synthetic_turns(1)[0][:2]
    assert satisfaction_predict(turns) == (None, None)
    store_synthetic()
    first = model_version_train(kind=ModelKind.SATISFACTION, fast=True, actor=None)

    prediction, version = satisfaction_predict(turns)

    assert version == first
    assert prediction == SatisfactionModel.load(model_store / first.artifact_path).predict_conversation(turns)

    monkeypatch.setattr(train_model_version, "update_state", lambda **kwargs: None)
    with django_capture_on_commit_callbacks(execute=True):  # the admin's train action; the task runs eagerly
        second = training_enqueue(model=first.model, fast=False, actor=mladmin_mo)
    second.refresh_from_db()
    assert second.status == ModelVersion.Status.READY
    assert satisfaction_predict(turns)[1] == first  # a new version waits for a promotion
    model_version_promote(version=second, actor=mladmin_mo, reason="better")
    assert satisfaction_predict(turns)[1] == second


@pytest.mark.django_db
def test_a_held_out_evaluation_runs_and_an_uploaded_text_file_is_refused(
    tiny_encoder, model_store, mladmin_mo, django_capture_on_commit_callbacks
):
    store_synthetic()
    version = model_version_train(kind=ModelKind.SATISFACTION, fast=True, actor=None)

    with django_capture_on_commit_callbacks(execute=True):
        evaluation = evaluation_enqueue(version=version, actor=mladmin_mo)

    evaluation.refresh_from_db()
    assert evaluation.status == "done", evaluation.error
    assert evaluation.metrics["n"] == version.metrics["n"]
    with pytest.raises(ValidationError, match="reads conversations"):
        evaluation_enqueue(version=version, actor=mladmin_mo, rows=[])


@pytest.mark.django_db
def test_a_surveyed_conversation_trains_with_its_rating_on_its_last_customer_turn(conversation, agent_alice):
    for role, text in [
        ("customer", "my card is lost"),
        ("bot", "I can block it."),
        ("system", "An agent will be with you shortly."),
        ("note", "VIP customer"),
        ("agent", "Blocked, a new card is on its way."),
        ("customer", "thank you"),
    ]:
        message_post(conversation=conversation, role=role, text=text, author=agent_alice if role == "agent" else None)
    survey_submit(conversation=conversation, rating=5)

    (dialogue,) = rated_dialogues()

    assert dialogue.key == f"survey:{conversation.pk}"
    assert [(turn["role"], turn["rating"]) for turn in dialogue.turns] == [
        ("customer", None),
        ("bot", None),
        ("agent", None),
        ("customer", 5),
    ]
    assert dialogue.csat == 5
    assert all(turn["seconds"] >= 0 for turn in dialogue.turns)
    assert conversation_turns(conversation_id=conversation.pk) == [{**turn, "rating": None} for turn in dialogue.turns]
    assert len(conversation_turns(conversation_id=conversation.pk, up_to_seq=2)) == 2


@pytest.mark.django_db
def test_evaluate_with_folds_runs_the_papers_protocol_on_a_file(tiny_encoder, tmp_path):
    path = tmp_path / "rated.jsonl"
    lines = []
    for index in range(20):
        turns, csat = synthetic_turns(index)
        messages = [{key: turn[key] for key in ("role", "text", "rating") if turn[key] is not None} for turn in turns]
        lines.append(json.dumps({"id": index, "messages": messages, "csat": csat}))
    path.write_text("\n".join(lines))
    out = StringIO()

    call_command(
        "evaluate", "satisfaction", "--data", str(path), "--folds", "2", "--fast", stdout=out, stderr=StringIO()
    )

    text = out.getvalue()
    assert "2-fold cross-validation on" in text
    assert "20 dialogues in file order, 60 rated turns" in text
    for title in ("UAR", "Cohen's kappa", "Spearman's rho", "F1 of 'rating < 3'", "MAE"):
        assert title in text

    out = StringIO()
    call_command(
        "evaluate",
        "satisfaction",
        "--data",
        str(path),
        "--folds",
        "10",
        "--fast",
        "--json",
        stdout=out,
        stderr=StringIO(),
    )
    report = json.loads(out.getvalue())
    assert report["pooled"]["n"] == 60
    assert len(report["per_fold"]) == 10
    assert sum(fold["n"] for fold in report["per_fold"]) == 60
    assert set(report["mean_of_folds"]) == {"uar", "kappa", "rho", "f1_dissatisfied", "mae"}
    assert not ModelVersion.objects.exists()  # nothing registered


@pytest.mark.django_db
def test_evaluate_without_folds_measures_the_champion(tiny_encoder, model_store, tmp_path):
    store_synthetic()
    model_version_train(kind=ModelKind.SATISFACTION, fast=True, actor=None)
    path = tmp_path / "bank.txt"
    path.write_text(
        "USER\twhere is my card\tINFORM\t3,3,4\nSYSTEM\tsorry, i cannot help\tFAIL\t\nUSER\tuseless\tX\t2,2\n"
    )
    out = StringIO()

    call_command("evaluate", "satisfaction", "--data", str(path), "--json", stdout=out)

    report = json.loads(out.getvalue())
    assert (report["version"], report["n"], report["dialogues"]) == (1, 2, 1)
    assert report["support"] == {"1": 0, "2": 1, "3": 1, "4": 0, "5": 0}
