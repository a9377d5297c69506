"""The registry in the admin: training, promotion and rollback actions, held-out evaluation, the version page."""

import shutil

import pytest
from django.contrib.messages import get_messages
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.assistant.models import AliasChange, ModelAlias, ModelEvaluation, ModelVersion, RegisteredModel
from apps.assistant.registry import challenger_set, model_version_promote
from apps.assistant.selectors import model_alias_version
from apps.assistant.training import model_version_train
from apps.assistant.training_tasks import train_model_version  # noqa: F401 (registers the task in this process)
from tests.assistant.registry_helpers import intent_examples_store, intent_model, version_ready

pytestmark = pytest.mark.django_db

MODELS_URL = reverse("admin:assistant_registeredmodel_changelist")
VERSIONS_URL = reverse("admin:assistant_modelversion_changelist")


@pytest.fixture(autouse=True)
def model_store(settings, tmp_path):
    settings.MODEL_STORE = tmp_path / "models"
    return settings.MODEL_STORE


@pytest.fixture
def trained(tiny_encoder):
    intent_examples_store()
    return model_version_train(fast=True, actor=None)


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def version_url(version: ModelVersion) -> str:
    return reverse("admin:assistant_modelversion_change", args=[version.pk])


# Committed for real, as in the embedded default: the task runs inline once the version is committed.
@pytest.mark.django_db(transaction=True)
def test_train_fast_action_trains_a_version_that_becomes_champion(client, mladmin_mo, tiny_encoder):
    intent_examples_store()
    model = intent_model()
    client.force_login(mladmin_mo)

    response = client.post(MODELS_URL, {"action": "train_fast", "_selected_action": [model.pk]}, follow=True)

    version = ModelVersion.objects.get()
    assert (version.version, version.status, version.created_by) == (1, ModelVersion.Status.READY, mladmin_mo)
    assert version.parameters["config"]["mode"] == "head"
    assert model_alias_version(model=model, alias="champion") == version
    assert messages_of(response) == [
        f"intent v1 trained: accuracy {version.metrics['accuracy']:.3f} on the held-out split."
    ]


def test_train_full_action_fine_tunes_and_leaves_the_champion(
    client, mladmin_mo, trained, django_capture_on_commit_callbacks
):
    client.force_login(mladmin_mo)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(MODELS_URL, {"action": "train_full", "_selected_action": [trained.model.pk]})

    second = ModelVersion.objects.get(version=2)
    assert (second.status, second.parameters["config"]["mode"]) == (ModelVersion.Status.READY, "finetune")
    assert model_alias_version(model=trained.model, alias="champion") == trained


def test_train_action_without_data_says_why_and_registers_nothing(client, mladmin_mo, tiny_encoder):
    model = intent_model()
    client.force_login(mladmin_mo)

    response = client.post(MODELS_URL, {"action": "train_fast", "_selected_action": [model.pk]}, follow=True)

    assert "at least two labels" in messages_of(response)[0]
    assert not ModelVersion.objects.exists()


def test_train_action_refuses_a_model_that_is_not_trained_from_examples(client, mladmin_mo):
    retrieval = RegisteredModel.objects.create(name="retrieval", kind="retrieval")
    client.force_login(mladmin_mo)

    response = client.post(MODELS_URL, {"action": "train_fast", "_selected_action": [retrieval.pk]}, follow=True)

    assert messages_of(response) == ["retrieval is not trained from examples here"]
    assert not ModelVersion.objects.exists()


@pytest.mark.parametrize("user_fixture", ["agent_alice", "manager_maria"])
def test_registry_actions_are_refused_without_the_ml_admin_role(client, request, user_fixture, tmp_path):
    model = intent_model()
    v1, v2 = version_ready(model, tmp_path), version_ready(model, tmp_path)
    model_version_promote(version=v1, actor=None, reason="first")
    intent_examples_store()
    client.force_login(request.getfixturevalue(user_fixture))

    responses = [
        client.post(MODELS_URL, {"action": "train_fast", "_selected_action": [model.pk]}),
        client.post(MODELS_URL, {"action": "rollback_champion", "_selected_action": [model.pk]}),
        client.post(VERSIONS_URL, {"action": "make_champion", "_selected_action": [v2.pk]}),
        client.post(VERSIONS_URL, {"action": "evaluate_held_out", "_selected_action": [v1.pk]}),
        client.get(version_url(v1)),
    ]

    assert [response.status_code for response in responses] == [403] * 5
    assert ModelVersion.objects.count() == 2
    assert model_alias_version(model=model, alias="champion") == v1
    assert AliasChange.objects.count() == 1


def test_promote_then_roll_back_from_the_admin(client, mladmin_mo, tmp_path):
    model = intent_model()
    v1, v2 = version_ready(model, tmp_path), version_ready(model, tmp_path)
    model_version_promote(version=v1, actor=None, reason="first")
    client.force_login(mladmin_mo)

    promoted = client.post(VERSIONS_URL, {"action": "make_champion", "_selected_action": [v2.pk]}, follow=True)
    rolled = client.post(MODELS_URL, {"action": "rollback_champion", "_selected_action": [model.pk]}, follow=True)

    assert messages_of(promoted) == ["intent v2 is now champion."]
    assert messages_of(rolled) == ["intent's champion is back to v1."]
    moves = AliasChange.objects.order_by("pk").values_list("from_version", "to_version", "actor", "reason")
    assert list(moves) == [
        (None, v1.pk, None, "first"),
        (v1.pk, v2.pk, mladmin_mo.pk, "admin action"),
        (v2.pk, v1.pk, mladmin_mo.pk, "rollback from v2: admin action"),
    ]


def test_rollback_without_history_is_refused_with_a_message(client, mladmin_mo, tmp_path):
    model = intent_model()
    model_version_promote(version=version_ready(model, tmp_path), actor=None, reason="first")
    client.force_login(mladmin_mo)

    response = client.post(MODELS_URL, {"action": "rollback_champion", "_selected_action": [model.pk]}, follow=True)

    assert messages_of(response) == ["intent has no previous champion to roll back to (intent v1 was the first)"]
    assert AliasChange.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_evaluate_on_held_out_replaces_the_metrics(client, mladmin_mo, trained):
    ModelVersion.objects.filter(pk=trained.pk).update(metrics={"accuracy": 0.0, "training_seconds": 3.0})
    client.force_login(mladmin_mo)

    response = client.post(VERSIONS_URL, {"action": "evaluate_held_out", "_selected_action": [trained.pk]}, follow=True)

    trained.refresh_from_db()
    assert trained.metrics["n"] == 1
    assert trained.metrics["training_seconds"] == 3.0  # kept from training
    assert "per_label" in trained.metrics
    assert messages_of(response) == [
        f"intent v1 on held-out split: accuracy {trained.metrics['accuracy']:.3f}, "
        f"macro-F1 {trained.metrics['macro_f1']:.3f} on 1 examples."
    ]
    evaluation = ModelEvaluation.objects.get()
    assert (evaluation.version, evaluation.held_out, evaluation.status) == (trained, True, "done")
    assert evaluation.created_by == mladmin_mo
    assert evaluation.metrics["accuracy"] == trained.metrics["accuracy"]


@pytest.mark.django_db(transaction=True)
def test_evaluate_on_held_out_reports_a_missing_artifact(client, mladmin_mo, trained, model_store):
    shutil.rmtree(model_store / "intent" / "1")
    before = dict(trained.metrics)
    client.force_login(mladmin_mo)

    response = client.post(VERSIONS_URL, {"action": "evaluate_held_out", "_selected_action": [trained.pk]}, follow=True)

    assert messages_of(response) == [
        f"intent v1 on held-out split: intent v1: artifact missing at {model_store / 'intent' / '1'}"
    ]
    trained.refresh_from_db()
    assert trained.metrics == before
    assert ModelEvaluation.objects.get().status == "failed"


def test_the_version_page_shows_the_report_and_the_confusion_chart(client, mladmin_mo, trained):
    client.force_login(mladmin_mo)

    response = client.get(version_url(trained))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Classification report: Held-out split" in page
    assert 'id="confusion-data"' in page
    assert "vendor/chart.umd.min.js" in page
    assert "assistant/model_version_report.js" in page
    assert 'id="artifact-problem"' not in page
    report = response.context["report"]
    assert {row.label for row in report.rows} <= {"card_arrival", "lost_or_stolen_card", "pending_transfer", "oos"}
    assert report.chart["labels"] == trained.metrics["labels"]
    assert 'id="evaluate-upload"' in page


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda folder: shutil.rmtree(folder), "artifact missing at"),
        (lambda folder: (folder / "intent.json").write_text("{}"), "checksum mismatch at"),
    ],
    ids=["missing", "edited"],
)
def test_the_version_page_shows_a_damaged_artifact(client, mladmin_mo, trained, model_store, damage, message):
    damage(model_store / "intent" / "1")
    client.force_login(mladmin_mo)

    response = client.get(version_url(trained))

    assert response.status_code == 200
    assert f"intent v1: {message}" in response.context["artifact_problem"]
    assert 'id="artifact-problem"' in response.content.decode()


def test_the_version_page_of_a_version_in_training_has_no_report(client, mladmin_mo):
    version = ModelVersion.objects.create(model=intent_model(), version=1, notes="Training 40%: epoch 4")
    client.force_login(mladmin_mo)

    page = client.get(version_url(version))
    listing = client.get(VERSIONS_URL)

    assert page.status_code == 200
    assert page.context["report"] is None
    assert page.context["artifact_problem"] is None
    assert '<td class="field-short_notes">Training 40%: epoch 4</td>' in listing.content.decode()


@pytest.mark.django_db(transaction=True)
def test_evaluate_on_an_uploaded_file_keeps_the_report_and_leaves_the_metrics(client, mladmin_mo, trained):
    before = dict(trained.metrics)
    upload = SimpleUploadedFile(
        "check.csv", b"text,label\nwhere is my new card,card_arrival\ntell me a joke,oos\n", "text/csv"
    )
    client.force_login(mladmin_mo)

    response = client.post(
        reverse("admin:assistant_modelversion_evaluate", args=[trained.pk]), {"data": upload}, follow=True
    )

    evaluation = ModelEvaluation.objects.get()
    assert response.redirect_chain[-1][0] == reverse("admin:assistant_modelevaluation_change", args=[evaluation.pk])
    assert (evaluation.status, evaluation.size, evaluation.data_name) == ("done", 2, "check.csv")
    assert evaluation.rows == [["where is my new card", "card_arrival"], ["tell me a joke", "oos"]]
    assert response.context["report_title"] == "check.csv (2 examples)"
    headline = dict(response.context["report"].headline)
    assert set(headline) >= {"Accuracy", "Macro-F1", "Out-of-scope recall", "Examples"}
    assert headline["Examples"] == "2"
    trained.refresh_from_db()
    assert trained.metrics == before
    version_page = client.get(version_url(trained)).content.decode()
    assert 'id="evaluations"' in version_page
    assert "check.csv" in version_page


def test_an_evaluation_still_running_refreshes_its_page(client, mladmin_mo, trained):
    evaluation = ModelEvaluation.objects.create(version=trained, data_name="check.csv", size=2)
    client.force_login(mladmin_mo)

    response = client.get(reverse("admin:assistant_modelevaluation_change", args=[evaluation.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="evaluation-running"' in page
    assert 'http-equiv="refresh"' in page
    assert "report" not in response.context or response.context.get("report") is None


def test_an_evaluation_is_refused_to_an_agent(client, agent_alice, trained):
    evaluation = ModelEvaluation.objects.create(version=trained, data_name="check.csv", size=2)
    client.force_login(agent_alice)

    response = client.get(reverse("admin:assistant_modelevaluation_change", args=[evaluation.pk]))

    assert response.status_code in (302, 403)


def test_evaluate_on_a_bad_upload_names_the_line(client, mladmin_mo, trained):
    upload = SimpleUploadedFile("bad.csv", b"text,label\nfine,card_arrival\n,card_arrival\n", "text/csv")
    client.force_login(mladmin_mo)

    response = client.post(
        reverse("admin:assistant_modelversion_evaluate", args=[trained.pk]), {"data": upload}, follow=True
    )

    assert response.redirect_chain[-1][0] == version_url(trained)
    assert messages_of(response) == ["line 3: empty text"]


def test_evaluate_upload_is_refused_to_an_agent(client, agent_alice, trained):
    upload = SimpleUploadedFile("check.csv", b"text,label\nwhere is my card,card_arrival\n", "text/csv")
    client.force_login(agent_alice)

    response = client.post(reverse("admin:assistant_modelversion_evaluate", args=[trained.pk]), {"data": upload})

    assert response.status_code == 403


def test_the_version_list_shows_scalar_metrics_only_in_a_fixed_number_of_queries(
    client, mladmin_mo, trained, tmp_path, django_assert_num_queries
):
    for _ in range(3):
        version_ready(trained.model, tmp_path)
    client.force_login(mladmin_mo)

    # Session, user, 2 permission reads, the model filter, 2 counts, the rows, their aliases, date hierarchy.
    with django_assert_num_queries(11):
        response = client.get(VERSIONS_URL)

    row = next("".join(cells) for cells in response.context["results"] if ">intent v1<" in "".join(cells))
    assert "per_label" not in row
    assert "confusion" not in row
    assert "top1_accuracy=" in row


def test_chart_js_is_vendored_with_its_licence_header():
    path = finders.find("vendor/chart.umd.min.js")

    assert path is not None
    with open(path, encoding="utf-8") as script:
        header = script.read(200)
    assert "Chart.js v4" in header
    assert "Released under the MIT License" in header


def test_clearing_a_challenger_in_the_admin_writes_the_history(client, mladmin_mo, tmp_path):
    model = intent_model()
    first, second = version_ready(model, tmp_path), version_ready(model, tmp_path)
    model_version_promote(version=first, actor=None, reason="first")
    challenger_set(version=second, actor=None, reason="shadow it")
    alias = ModelAlias.objects.get(alias="challenger")
    client.force_login(mladmin_mo)

    response = client.post(
        reverse("admin:assistant_modelalias_changelist"),
        {"action": "clear_challenger", "_selected_action": [alias.pk]},
        follow=True,
    )

    assert messages_of(response) == ["intent's challenger intent v2 is cleared."]
    assert model_alias_version(model=model, alias="challenger") is None
    change = AliasChange.objects.filter(alias="challenger").first()
    assert (change.from_version, change.to_version, change.actor, change.reason) == (
        second,
        None,
        mladmin_mo,
        "cleared in the admin",
    )


def test_a_champion_is_never_cleared_in_the_admin(client, mladmin_mo, tmp_path):
    model = intent_model()
    model_version_promote(version=version_ready(model, tmp_path), actor=None, reason="first")
    champion = ModelAlias.objects.get(alias="champion")
    history = AliasChange.objects.count()
    client.force_login(mladmin_mo)

    response = client.post(
        reverse("admin:assistant_modelalias_changelist"),
        {"action": "clear_challenger", "_selected_action": [champion.pk]},
        follow=True,
    )

    assert messages_of(response) == ["A champion is moved (promote or roll back), never cleared."]
    assert ModelAlias.objects.filter(pk=champion.pk).exists()
    assert AliasChange.objects.count() == history
