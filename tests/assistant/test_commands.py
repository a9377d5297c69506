"""manage.py import_intents, train and evaluate."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.assistant.analysis import message_analyse
from apps.assistant.inference import sentiment_probabilities
from apps.assistant.ml.sentiment import sentiment_analyse
from apps.assistant.models import ModelVersion, TrainingExample
from apps.assistant.training import model_version_train
from apps.conversations.models import Message
from apps.conversations.services import message_post
from tests.assistant.conftest import INTENT_EXAMPLES
from tests.assistant.registry_helpers import intent_examples_store

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def model_store(settings, tmp_path):
    settings.MODEL_STORE = tmp_path / "models"
    return settings.MODEL_STORE


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def csv_file(tmp_path, text: str, name: str = "intents.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_stores_new_rows_and_counts_duplicates(tmp_path):
    path = csv_file(
        tmp_path,
        "text,label\n"
        "where is my card,card_arrival\n"
        '"I lost my card, help",lost_or_stolen_card\n'
        "Where is  my CARD,card_arrival\n"  # the first row again, case and spacing aside
        "where is my card,lost_or_stolen_card\n",  # same text, another label: a separate example
    )

    out, _ = run("import_intents", str(path))

    assert out.strip() == "intents.csv: 4 rows, 2 labels: 3 new, 1 duplicate"
    stored = TrainingExample.objects.order_by("pk").values_list("text", "label", "source", "source_ref", "status")
    assert list(stored) == [
        ("where is my card", "card_arrival", "import", "intents.csv:2", "accepted"),
        ("I lost my card, help", "lost_or_stolen_card", "import", "intents.csv:3", "accepted"),
        ("where is my card", "lost_or_stolen_card", "import", "intents.csv:5", "accepted"),
    ]

    out, _ = run("import_intents", str(path), "--source", "demo")

    assert out.strip() == "intents.csv: 4 rows, 2 labels: 0 new, 4 duplicate"
    assert TrainingExample.objects.count() == 3


def test_import_reads_the_banking77_header(tmp_path):
    path = csv_file(tmp_path, "text,category\nHow do I locate my card?,card_arrival\n", name="train.csv")

    out, _ = run("import_intents", str(path))

    assert out.strip() == "train.csv: 1 rows, 1 labels: 1 new, 0 duplicate"
    assert TrainingExample.objects.get().label == "card_arrival"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("text,label\nfine,card_arrival\nalso fine,card_arrival\n ,card_arrival\n", "line 4: empty text"),
        ("text,label\nfine,card_arrival\nno label,\n", "line 3: empty label"),
        ("text,label\nfine,card_arrival\na,b,c\n", "line 3: expected 2 columns, got 3"),
        # A quoted text over two lines: the bad row after it starts on line 4.
        ('text,label\n"two\nlines",card_arrival\n,card_arrival\n', "line 4: empty text"),
        ("message,intent\nfine,card_arrival\n", "line 1: the header must be text,label"),
        ("text,label\n", "has no rows under its header"),
    ],
)
def test_a_bad_file_names_its_line_and_imports_nothing(tmp_path, content, message):
    path = csv_file(tmp_path, content)

    with pytest.raises(CommandError, match=message) as raised:
        run("import_intents", str(path))

    assert str(raised.value).endswith("; nothing imported")
    assert not TrainingExample.objects.exists()


def test_import_refuses_a_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("text,label\ncarte arrivée,card_arrival\n".encode("latin-1"))

    with pytest.raises(CommandError, match=r"latin1\.csv is not UTF-8 text"):
        run("import_intents", str(path))

    assert not TrainingExample.objects.exists()


def test_train_prints_the_version_its_metrics_and_the_champion(tiny_encoder):
    intent_examples_store()

    out, err = run("train", "intent", "--fast")

    assert out.splitlines()[0].startswith("intent v1: ready, trained on 17. Trained in ")
    assert "held-out (1 examples): accuracy " in out
    assert out.splitlines()[-1] == "champion: intent v1"
    assert "0% preparing 17 examples" in err
    assert ModelVersion.objects.get().parameters["config"]["mode"] == "head"


def test_train_without_data_is_a_clear_error(tiny_encoder):
    with pytest.raises(CommandError, match="at least two labels"):
        run("train", "intent")

    assert not ModelVersion.objects.exists()


@pytest.fixture
def trained(tiny_encoder):
    intent_examples_store()
    return model_version_train(fast=True, actor=None)


@pytest.fixture
def evaluation_file(tmp_path):
    rows = [f"{text},{label}" for label, texts in INTENT_EXAMPLES.items() for text in texts]
    rows += ["tell me a joke,oos", "the weather,oos"]
    return csv_file(tmp_path, "text,label\n" + "\n".join(rows) + "\n", name="eval.csv")


def test_evaluate_json_prints_the_report(trained, evaluation_file):
    out, _ = run("evaluate", "intent", "--data", str(evaluation_file), "--json")

    report = json.loads(out)
    assert set(report) == {
        "model",
        "version",
        "data",
        "accuracy",
        "macro_f1",
        "top1_accuracy",
        "answered_share",
        "per_label",
        "labels",
        "confusion",
        "n",
        "in_scope_accuracy",
        "oos_recall",
        "oos_precision",
    }
    assert (report["model"], report["version"], report["n"]) == ("intent", 1, 20)
    assert {"card_arrival", "lost_or_stolen_card", "pending_transfer", "oos"} <= set(report["per_label"])
    assert report["per_label"]["oos"]["support"] == 2
    assert set(report["per_label"]["card_arrival"]) == {"precision", "recall", "f1", "support"}


def test_evaluate_prints_a_table_with_the_out_of_scope_figures(trained, evaluation_file):
    out, _ = run("evaluate", "intent", "--data", str(evaluation_file))

    lines = out.splitlines()
    assert lines[0] == f"intent v1 on {evaluation_file} (20 examples)"
    titles = [line.split("  ")[1] if line.startswith("  ") else None for line in lines[1:8]]
    assert [title.strip() for title in titles if title] == [
        "accuracy",
        "macro-F1",
        "top-1 accuracy, no oos rule",
        "answered (not out of scope)",
        "in-scope accuracy",
        "out-of-scope recall",
        "out-of-scope precision",
    ]
    assert any(line.startswith("pending_transfer ") and line.rstrip().endswith(" 6") for line in lines)


def test_evaluate_without_oos_rows_leaves_the_oos_figures_out(trained, tmp_path):
    path = csv_file(tmp_path, "text,label\nwhere is my new card,card_arrival\nmy card was stolen,lost_or_stolen_card\n")

    report = json.loads(run("evaluate", "intent", "--data", str(path), "--json")[0])

    assert report["n"] == 2
    assert "oos_recall" not in report


def test_evaluate_a_version_that_does_not_exist_or_without_a_champion(tiny_encoder, evaluation_file, trained):
    with pytest.raises(CommandError, match="The model 'intent' has no v7"):
        run("evaluate", "intent", "--data", str(evaluation_file), "--version", "7")

    trained.model.aliases.all().delete()

    with pytest.raises(CommandError, match="The model 'intent' has no champion"):
        run("evaluate", "intent", "--data", str(evaluation_file))


def test_evaluate_reports_a_damaged_artifact(trained, evaluation_file, model_store):
    (model_store / "intent" / "1" / "head.pt").write_bytes(b"not a model")

    with pytest.raises(CommandError, match="intent v1: checksum mismatch"):
        run("evaluate", "intent", "--data", str(evaluation_file), "--version", "1")


SENTIMENT_ROWS = {
    "negative": ["my card was declined again", "the fee is too high", "payment declined, no help", "no refund yet"],
    "neutral": ["where is my new card", "what is my balance", "how do I top up", "the card arrived"],
    "positive": ["thanks that helped", "hello thanks", "thanks, the refund arrived", "great help thanks"],
}


def test_sentiment_examples_train_a_model_that_is_blended_with_the_lexicon(tmp_path, tiny_encoder, conversation):
    rows = [f'"{text}",{label}' for label, texts in SENTIMENT_ROWS.items() for text in texts]
    rows += [f'"{text} please",{label}' for label, texts in SENTIMENT_ROWS.items() for text in texts]
    path = csv_file(tmp_path, "text,label\n" + "\n".join(rows) + "\n", name="sentiment.csv")

    imported, _ = run("import_intents", str(path), "--kind", "sentiment")
    trained, _ = run("train", "sentiment", "--fast")
    message = message_post(
        conversation=conversation, role=Message.Role.CUSTOMER, text="my card was declined", client_id=None
    ).message
    message_analyse(message_id=message.pk)

    assert imported.strip() == "sentiment.csv: 24 rows, 3 labels: 24 new, 0 duplicate"
    assert TrainingExample.objects.filter(kind="sentiment").count() == 24
    assert trained.splitlines()[0].startswith("sentiment v1: ready")
    message.refresh_from_db()
    assert message.annotations["models"]["sentiment"] == "lexicon+learned"
    assert message.annotations["models"]["sentiment_version"] == 1
    learned, _ = sentiment_probabilities(["my card was declined"])
    assert message.sentiment == sentiment_analyse("my card was declined", learned[0]).score
    assert message.sentiment != sentiment_analyse("my card was declined").score


def test_a_sentiment_label_outside_the_three_names_its_line(tmp_path):
    path = csv_file(tmp_path, "text,label\nthanks,positive\nawful,angry\n", name="sentiment.csv")

    with pytest.raises(CommandError, match=r"sentiment\.csv:3: sentiment labels are negative, neutral, positive"):
        run("import_intents", str(path), "--kind", "sentiment")

    assert not TrainingExample.objects.exists()
