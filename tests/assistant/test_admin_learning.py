"""The learning loop in the admin: the review queue (conflicts, relabel, accept, reject in bulk), the loop's
settings with "run now", the comparison page and the gate's decisions, each for ML admins only."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from apps.assistant.feedback import learning_loop_config
from apps.assistant.models import GateDecision, ModelComparison, ModelKind, TrainingExample
from apps.assistant.registry import challenger_set, model_version_promote
from apps.assistant.services import training_example_add
from apps.assistant.training import model_version_train
from apps.assistant.training_tasks import learning_loop_tick  # noqa: F401 (registers the tasks in this process)
from tests.assistant.registry_helpers import intent_examples_store, intent_model, version_ready

pytestmark = pytest.mark.django_db

EXAMPLES_URL = reverse("admin:assistant_trainingexample_changelist")
Source, Signal, Status = TrainingExample.Source, TrainingExample.Signal, TrainingExample.Status


@pytest.fixture(autouse=True)
def model_store(settings, tmp_path):
    settings.MODEL_STORE = tmp_path / "models"
    return settings.MODEL_STORE


def example(text: str, label: str, *, signal=Signal.POSITIVE, status=Status.PENDING, source=Source.FEEDBACK):
    return training_example_add(
        kind=ModelKind.INTENT, text=text, label=label, source=source, signal=signal, status=status
    )[0]


@pytest.fixture
def queue(db):
    """A text given two labels, one denied answer, and one example nobody disputes."""
    return {
        "two_labels_a": example("my card is gone", "lost_or_stolen_card"),
        "two_labels_b": example("my card is gone", "card_arrival", source=Source.AGENT_CORRECTION),
        "denied": example("where is my money", "card_arrival", signal=Signal.NEGATIVE),
        "calm": example("where is my card", "card_arrival", status=Status.ACCEPTED, source=Source.IMPORT),
    }


def test_the_conflict_filter_lists_texts_with_two_labels(client, mladmin_mo, queue):
    client.force_login(mladmin_mo)

    response = client.get(EXAMPLES_URL, {"conflict": "yes"})

    assert response.status_code == 200
    listed = {row.pk for row in response.context["cl"].result_list}
    assert listed == {queue["two_labels_a"].pk, queue["two_labels_b"].pk}


def test_relabel_asks_for_the_label_then_accepts_it_and_rejects_the_rest(client, mladmin_mo, queue):
    client.force_login(mladmin_mo)
    selected = [queue["two_labels_a"].pk, queue["two_labels_b"].pk, queue["denied"].pk]

    form = client.post(EXAMPLES_URL, {"action": "relabel", "_selected_action": selected})
    done = client.post(
        EXAMPLES_URL,
        {"action": "relabel", "_selected_action": selected, "apply": "1", "label": "lost_or_stolen_card"},
        follow=True,
    )

    assert form.status_code == 200
    assert b"Relabel and accept" in form.content
    assert "2 text(s) now labelled 'lost_or_stolen_card' and accepted." in [
        m.message for m in get_messages(done.wsgi_request)
    ]
    rows = TrainingExample.objects.order_by("text", "label", "signal").values_list(
        "text", "label", "signal", "status", "reviewed_by"
    )
    assert list(rows) == [
        ("my card is gone", "card_arrival", Signal.POSITIVE, Status.REJECTED, mladmin_mo.pk),
        ("my card is gone", "lost_or_stolen_card", Signal.POSITIVE, Status.ACCEPTED, mladmin_mo.pk),
        ("where is my card", "card_arrival", Signal.POSITIVE, Status.ACCEPTED, None),
        ("where is my money", "card_arrival", Signal.NEGATIVE, Status.REJECTED, mladmin_mo.pk),
        ("where is my money", "lost_or_stolen_card", Signal.POSITIVE, Status.ACCEPTED, mladmin_mo.pk),
    ]


def test_accept_and_reject_in_bulk_record_the_reviewer(client, mladmin_mo, queue):
    client.force_login(mladmin_mo)

    client.post(EXAMPLES_URL, {"action": "accept", "_selected_action": [queue["two_labels_a"].pk]})
    client.post(EXAMPLES_URL, {"action": "reject", "_selected_action": [queue["denied"].pk]})

    accepted, rejected = (TrainingExample.objects.get(pk=queue[key].pk) for key in ("two_labels_a", "denied"))
    assert (accepted.status, accepted.reviewed_by) == (Status.ACCEPTED, mladmin_mo)
    assert (rejected.status, rejected.reviewed_by) == (Status.REJECTED, mladmin_mo)
    assert accepted.status_changed_at > accepted.created_at


@pytest.mark.parametrize("user_fixture", ["agent_alice", "manager_maria"])
def test_agents_and_managers_cannot_open_the_review_queue_or_relabel(client, request, queue, user_fixture):
    client.force_login(request.getfixturevalue(user_fixture))

    assert client.get(EXAMPLES_URL).status_code == 403
    response = client.post(
        EXAMPLES_URL,
        {"action": "relabel", "_selected_action": [queue["denied"].pk], "apply": "1", "label": "card_arrival"},
    )
    assert response.status_code == 403
    assert TrainingExample.objects.get(pk=queue["denied"].pk).status == Status.PENDING


def test_run_now_queues_a_turn_of_the_loop(client, mladmin_mo):
    config = learning_loop_config()
    client.force_login(mladmin_mo)

    page = client.get(reverse("admin:assistant_learningloopconfig_change", args=[config.pk]))
    response = client.post(reverse("admin:assistant_learningloopconfig_run"), follow=True)

    assert b"Run the learning loop now" in page.content
    assert response.redirect_chain[-1][0] == reverse("admin:assistant_gatedecision_changelist")
    assert "A turn of the learning loop was queued on the training queue." in [
        m.message for m in get_messages(response.wsgi_request)
    ]
    config.refresh_from_db()
    assert config.ratings_collected_until is not None  # the turn ran (eagerly here)


@pytest.mark.parametrize("user_fixture", ["agent_alice", "manager_maria"])
def test_only_ml_admins_run_the_loop(client, request, user_fixture):
    learning_loop_config()
    client.force_login(request.getfixturevalue(user_fixture))

    assert client.post(reverse("admin:assistant_learningloopconfig_run")).status_code == 403
    assert learning_loop_config().ratings_collected_until is None


CHANGED = {
    "text": "<b>card</b> where",
    "label": "card_arrival",
    "champion": "lost_or_stolen_card",
    "candidate": "card_arrival",
}


@pytest.fixture
def comparison(tmp_path):
    model = intent_model()
    champion, candidate = version_ready(model, tmp_path), version_ready(model, tmp_path)
    model_version_promote(version=champion, actor=None, reason="test")
    per_label = {
        "card_arrival": {"f1": 0.5, "support": 4},
        "lost_or_stolen_card": {"f1": 0.9, "support": 3},
    }
    better = {"card_arrival": {"f1": 0.8, "support": 4}, "lost_or_stolen_card": {"f1": 0.85, "support": 3}}
    return ModelComparison.objects.create(
        candidate=candidate,
        champion=champion,
        held_out_size=7,
        held_out_fingerprint="f" * 64,
        champion_metrics={"accuracy": 0.7, "macro_f1": 0.7, "per_label": per_label, "n": 7},
        candidate_metrics={"accuracy": 0.8, "macro_f1": 0.825, "per_label": better, "n": 7},
        changed=[CHANGED],
        changed_count=1,
    )


def test_the_comparison_page_shows_figures_side_by_side_per_intent_deltas_and_changed_examples(
    client, mladmin_mo, comparison
):
    client.force_login(mladmin_mo)

    response = client.get(reverse("admin:assistant_modelcomparison_change", args=[comparison.pk]))

    assert response.status_code == 200
    assert [(row.label, round(row.delta, 3)) for row in response.context["deltas"]] == [
        ("card_arrival", 0.3),
        ("lost_or_stolen_card", -0.05),
    ]
    assert response.context["scalars"][0] == ("accuracy", 0.7, 0.8, pytest.approx(0.1))
    html = response.content.decode()
    assert "&lt;b&gt;card&lt;/b&gt; where" in html  # a customer's text, escaped
    assert "<b>card</b>" not in html
    listing = client.get(reverse("admin:assistant_modelcomparison_changelist"))
    assert "+0.1250" in listing.content.decode()  # macro-F1 delta


@pytest.mark.parametrize("user_fixture", ["agent_alice", "manager_maria"])
def test_comparisons_and_gate_decisions_are_for_ml_admins(client, request, comparison, user_fixture):
    GateDecision.objects.create(version=comparison.candidate, champion=comparison.champion, outcome="needs_admin")
    client.force_login(request.getfixturevalue(user_fixture))

    assert client.get(reverse("admin:assistant_modelcomparison_change", args=[comparison.pk])).status_code == 403
    assert client.get(reverse("admin:assistant_gatedecision_changelist")).status_code == 403


def test_an_ml_admin_compares_a_version_with_the_champion_from_the_versions_list(client, mladmin_mo, tiny_encoder):
    intent_examples_store()
    champion = model_version_train(fast=True, actor=None)
    other = model_version_train(fast=True, actor=None)
    client.force_login(mladmin_mo)

    response = client.post(
        reverse("admin:assistant_modelversion_changelist"),
        {"action": "compare_with_champion", "_selected_action": [other.pk, champion.pk]},
        follow=True,
    )

    shown = [str(m.message) for m in get_messages(response.wsgi_request)]
    assert any("is being compared" in message for message in shown)
    assert any(message.startswith(f"{champion}: compare a ready version that is not the champion") for message in shown)
    comparison = ModelComparison.objects.get()
    assert (comparison.candidate, comparison.champion) == (other, champion)
    challenger_set(version=other, actor=None, reason="test")
    assert client.get(reverse("admin:assistant_modelcomparison_change", args=[comparison.pk])).status_code == 200
