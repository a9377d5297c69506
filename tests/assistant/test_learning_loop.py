"""The learning loop: a candidate trained when enough new examples were accepted, compared with the champion on the
same held-out examples, run in shadow as challenger (never reaching the customer), and promoted by the gate only
when it beats the champion by the margin and does no worse in shadow."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.assistant import analysis
from apps.assistant.feedback import learning_loop_config
from apps.assistant.jobs import model_version_start
from apps.assistant.learning import gate_run, learning_loop_run
from apps.assistant.learning_selectors import shadow_summary
from apps.assistant.models import AliasChange, GateDecision, ModelAlias, ModelComparison, TrainingExample
from apps.assistant.registry import (
    challenger_set,
    model_version_promote,
    model_version_rollback,
    registered_model_ensure,
)
from apps.assistant.selectors import model_alias_version
from apps.assistant.services import LabelledText, training_examples_import
from apps.assistant.training import model_version_train
from apps.conversations.events import message_payload
from apps.conversations.models import Conversation, Message
from apps.conversations.services import message_annotate, message_post
from helpdesk.celery import app as celery_app
from tests.assistant.conftest import prediction
from tests.assistant.registry_helpers import intent_examples_store, intent_model, version_ready

pytestmark = pytest.mark.django_db

Outcome = GateDecision.Outcome


@pytest.fixture(autouse=True)
def model_store(settings, tmp_path):
    settings.MODEL_STORE = tmp_path / "models"
    return settings.MODEL_STORE


@pytest.fixture
def loop(db):
    config = learning_loop_config()
    config.min_new_examples, config.shadow_min_messages, config.promotion_margin = 3, 4, 0.02
    config.save()
    return config


@pytest.fixture
def rivals(tmp_path):
    """A champion and a challenger of the intent model whose files are not models: the gate reads the stored
    comparison and the messages, never the weights."""
    model = intent_model()
    champion, challenger = version_ready(model, tmp_path), version_ready(model, tmp_path)
    model_version_promote(version=champion, actor=None, reason="test")
    challenger_set(version=challenger, actor=None, reason="test")
    return champion, challenger


def compared(champion, challenger, *, champion_f1: float, challenger_f1: float) -> ModelComparison:
    return ModelComparison.objects.create(
        candidate=challenger,
        champion=champion,
        held_out_size=50,
        held_out_fingerprint="f" * 64,
        candidate_metrics={"macro_f1": challenger_f1, "accuracy": challenger_f1},
        champion_metrics={"macro_f1": champion_f1, "accuracy": champion_f1},
    )


def shadowed(conversation, challenger, readings: list[tuple[str, str, str | None]]) -> None:
    """Customer messages read by the champion (first) and the challenger in shadow (second), some corrected."""
    for index, (champion_intent, shadow_intent, corrected) in enumerate(readings):
        message = message_post(conversation=conversation, role=Message.Role.CUSTOMER, text=f"message {index}").message
        annotations = {"models": {"shadow": {"version_id": challenger.pk, "version": challenger.version,
                                             "intent": shadow_intent, "confidence": 0.8}}}  # fmt: skip
        if corrected:
            annotations["corrected_intent"] = {"intent": corrected, "by": 1, "by_name": "alice", "at": "x"}
        message_annotate(message=message, intent=champion_intent, intent_confidence=0.7, annotations=annotations)


BETTER_IN_SHADOW = [
    ("card_arrival", "card_arrival", None),
    ("card_arrival", "lost_or_stolen_card", "lost_or_stolen_card"),
    ("pending_transfer", "pending_transfer", "pending_transfer"),
    ("card_arrival", "card_arrival", None),
]


def test_the_shadow_summary_counts_agreement_and_who_was_right_on_corrected_messages(conversation, rivals):
    champion, challenger = rivals
    shadowed(conversation, challenger, BETTER_IN_SHADOW)

    summary = shadow_summary(version=challenger)

    # Nobody handled the conversation: only the corrected messages were reviewed.
    assert (summary.messages, summary.agreed, summary.reviewed, summary.corrected) == (4, 3, 2, 2)
    assert (summary.challenger_right, summary.champion_right) == (2, 1)
    assert summary.agreement == 0.75
    assert shadow_summary(version=champion).messages == 0


def test_in_a_conversation_an_agent_handled_an_uncorrected_reading_counts_as_the_champions_right_one(
    conversation, rivals, agent_alice
):
    _, challenger = rivals
    Conversation.objects.filter(pk=conversation.pk).update(assignee=agent_alice)
    shadowed(conversation, challenger, [("card_arrival", "pending_transfer", None), *BETTER_IN_SHADOW[1:3]])

    summary = shadow_summary(version=challenger)

    assert (summary.reviewed, summary.corrected) == (3, 2)
    # The challenger read the first message differently and nobody objected to the champion's reading.
    assert (summary.challenger_right, summary.champion_right) == (2, 2)


def test_the_gate_promotes_a_challenger_that_beats_the_champion_and_does_no_worse_in_shadow(conversation, rivals, loop):
    champion, challenger = rivals
    compared(champion, challenger, champion_f1=0.80, challenger_f1=0.85)
    shadowed(conversation, challenger, BETTER_IN_SHADOW)

    decision = gate_run(challenger=challenger, config=loop)

    assert decision.outcome == Outcome.PROMOTED
    assert decision.held_out_delta == pytest.approx(0.05)
    assert decision.shadow["challenger_right"] == 2
    model = challenger.model
    assert model_alias_version(model=model, alias=ModelAlias.Name.CHAMPION) == challenger
    assert model_alias_version(model=model, alias=ModelAlias.Name.CHALLENGER) is None
    move = AliasChange.objects.filter(alias=ModelAlias.Name.CHAMPION).latest("pk")
    assert (move.from_version, move.to_version, move.actor) == (champion, challenger, None)
    assert move.reason.startswith("Learning loop gate: macro_f1 +0.0500 on the held-out split")


@pytest.mark.parametrize(
    ("challenger_f1", "readings", "why"),
    [
        (0.81, BETTER_IN_SHADOW, "does not beat the champion by the margin"),  # +0.01 < 0.02
        (0.70, BETTER_IN_SHADOW, "does not beat the champion by the margin"),
        (
            0.90,
            [*BETTER_IN_SHADOW[:1], ("card_arrival", "pending_transfer", "card_arrival")] * 2,
            "worse than the champion in shadow",
        ),
    ],
)
def test_the_gate_refuses_a_worse_candidate_and_leaves_it_to_an_ml_admin(
    conversation, rivals, loop, challenger_f1, readings, why
):
    champion, challenger = rivals
    compared(champion, challenger, champion_f1=0.80, challenger_f1=challenger_f1)
    shadowed(conversation, challenger, readings)

    decision = gate_run(challenger=challenger, config=loop)

    assert decision.outcome == Outcome.NEEDS_ADMIN
    assert decision.reasons[-1] == why
    assert model_alias_version(model=challenger.model, alias=ModelAlias.Name.CHAMPION) == champion
    assert model_alias_version(model=challenger.model, alias=ModelAlias.Name.CHALLENGER) == challenger


def test_the_gate_waits_for_enough_shadow_traffic_and_updates_its_decision_in_place(conversation, rivals, loop):
    champion, challenger = rivals
    compared(champion, challenger, champion_f1=0.80, challenger_f1=0.90)
    shadowed(conversation, challenger, BETTER_IN_SHADOW[:2])

    first = gate_run(challenger=challenger, config=loop)
    shadowed(conversation, challenger, BETTER_IN_SHADOW[:1])
    second = gate_run(challenger=challenger, config=loop)

    assert (first.pk, first.outcome) == (second.pk, Outcome.WAITING_SHADOW)
    assert second.reasons[-1] == "3 of 4 messages read in shadow"
    assert GateDecision.objects.count() == 1
    assert model_alias_version(model=challenger.model, alias=ModelAlias.Name.CHAMPION) == champion


def test_with_automatic_promotion_off_a_passing_candidate_waits_for_an_ml_admin(conversation, rivals, loop):
    champion, challenger = rivals
    loop.auto_promote = False
    compared(champion, challenger, champion_f1=0.80, challenger_f1=0.90)
    shadowed(conversation, challenger, BETTER_IN_SHADOW)

    decision = gate_run(challenger=challenger, config=loop)

    assert (decision.outcome, decision.reasons[-1]) == (Outcome.NEEDS_ADMIN, "automatic promotion is off")
    assert model_alias_version(model=challenger.model, alias=ModelAlias.Name.CHAMPION) == champion


def test_a_sentiment_challenger_reads_no_live_traffic_so_the_held_out_split_decides(tmp_path, loop):
    model = registered_model_ensure(name="sentiment", kind="sentiment")
    champion, challenger = version_ready(model, tmp_path), version_ready(model, tmp_path)
    model_version_promote(version=champion, actor=None, reason="test")
    challenger_set(version=challenger, actor=None, reason="test")
    compared(champion, challenger, champion_f1=0.70, challenger_f1=0.75)

    decision = gate_run(challenger=challenger, config=loop)

    assert decision.outcome == Outcome.PROMOTED
    assert decision.reasons[-1] == "no shadow reading for this model: the held-out split decides"
    assert model_alias_version(model=model, alias=ModelAlias.Name.CHAMPION) == challenger


def test_rollback_after_a_gate_promotion_is_one_action(conversation, rivals, loop):
    champion, challenger = rivals
    compared(champion, challenger, champion_f1=0.80, challenger_f1=0.90)
    shadowed(conversation, challenger, BETTER_IN_SHADOW)
    gate_run(challenger=challenger, config=loop)

    model_version_rollback(model=challenger.model, actor=None, reason="worse in the inbox")

    assert model_alias_version(model=challenger.model, alias=ModelAlias.Name.CHAMPION) == champion


# --- Shadow predictions never reach the customer ------------------------------------------------------------


def test_the_challengers_reading_is_stored_beside_the_champions_and_never_acted_on(
    models, say, conversation, rivals, monkeypatch
):
    _, challenger = rivals
    monkeypatch.setattr(
        analysis, "intent_shadow_predict", lambda texts: ([prediction(("lost_or_stolen_card", 0.97))], challenger)
    )

    message = say(conversation, "where is my new card?")

    [reply] = conversation.messages.filter(seq__gt=message.seq)
    assert message.intent == "card_arrival"  # the champion's reading (the models fixture)
    assert message.decision_reason.startswith("Intent card_arrival (0.91)")
    assert reply.text.startswith("New cards arrive within 5 working days")
    assert message.annotations["models"]["shadow"] == {
        "version": challenger.version,
        "version_id": challenger.pk,
        "intent": "lost_or_stolen_card",
        "confidence": 0.97,
    }
    for payload in (message_payload(message, for_agent=False), message_payload(reply, for_agent=False)):
        assert "lost_or_stolen_card" not in str(payload)
        assert "shadow" not in str(payload)
    assert "shadow" not in str(message_payload(message, for_agent=True))


def test_a_failing_challenger_costs_the_customer_nothing(models, say, conversation, monkeypatch):
    def broken(texts):
        raise RuntimeError("challenger weights unreadable")

    monkeypatch.setattr(analysis, "intent_shadow_predict", broken)

    message = say(conversation, "where is my new card?")

    assert message.decision == Message.Decision.ANSWER
    assert "shadow" not in message.annotations["models"]


# --- The loop, with real (tiny) training --------------------------------------------------------------------

NEW_EXAMPLES = [
    LabelledText("card still not here", "card_arrival"),
    LabelledText("someone stole my card", "lost_or_stolen_card"),
    LabelledText("transfer not arrived yet", "pending_transfer"),
    LabelledText("my new card where", "card_arrival"),
]


def test_the_loop_trains_a_candidate_on_new_accepted_examples_compares_it_and_makes_it_challenger(tiny_encoder, loop):
    intent_examples_store()
    champion = model_version_train(fast=True, actor=None)
    assert learning_loop_run()["intent"] == "0 of 3 new accepted examples"
    training_examples_import(kind="intent", examples=NEW_EXAMPLES, source=TrainingExample.Source.AGENT_CORRECTION)

    report = learning_loop_run()

    model = champion.model
    candidate = model_alias_version(model=model, alias=ModelAlias.Name.CHALLENGER)
    assert report["intent"] == f"{candidate} trained with 4 new examples"
    assert model_alias_version(model=model, alias=ModelAlias.Name.CHAMPION) == champion
    comparison = ModelComparison.objects.get()
    assert (comparison.candidate, comparison.champion) == (candidate, champion)
    assert comparison.held_out_size == comparison.candidate_metrics["n"] == comparison.champion_metrics["n"] >= 1
    assert set(comparison.candidate_metrics) >= {"accuracy", "macro_f1", "per_label"}
    assert "confusion" not in comparison.candidate_metrics
    assert candidate.training_size > champion.training_size
    # The next turn puts the challenger through the gate instead of training again.
    assert learning_loop_run()["intent"].startswith(f"{candidate}: waiting for shadow traffic")
    assert model.versions.count() == 2


def test_denials_and_pending_examples_do_not_count_as_new_data(tiny_encoder, loop):
    intent_examples_store()
    model_version_train(fast=True, actor=None)
    training_examples_import(kind="intent", examples=NEW_EXAMPLES, source=TrainingExample.Source.FEEDBACK)
    TrainingExample.objects.filter(source=TrainingExample.Source.FEEDBACK).update(status=TrainingExample.Status.PENDING)

    assert learning_loop_run()["intent"] == "0 of 3 new accepted examples"


def test_a_disabled_loop_only_collects_ratings(loop):
    loop.enabled = False
    loop.save()

    assert learning_loop_run() == {"rating_items": 0, "enabled": False}


def test_beat_runs_the_loop_every_15_minutes_on_the_training_queue():
    task = PeriodicTask.objects.get(task="apps.assistant.tasks.learning_loop_tick")

    assert task.enabled
    assert (task.interval.every, task.interval.period) == (15, "minutes")
    assert task.queue == "training"
    celery_app.loader.import_default_modules()
    assert celery_app.tasks[task.task].apply().get() == {
        "rating_items": 0,
        "intent": "no model yet",
        "sentiment": "no model yet",
    }


def test_a_training_left_behind_by_a_dead_worker_does_not_block_the_loop(tiny_encoder, loop):
    intent_examples_store()
    champion = model_version_train(fast=True, actor=None)
    stuck = model_version_start(kind="intent", fast=True, actor=None)
    assert learning_loop_run()["intent"] == "a version is in training"
    type(stuck).objects.filter(pk=stuck.pk).update(created_at=timezone.now() - timedelta(hours=1))

    assert learning_loop_run()["intent"] == "0 of 3 new accepted examples"
    assert champion.model.versions.count() == 2
