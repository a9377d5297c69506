"""manage.py import_conversations: JSONL and USS files of rated conversations, all or nothing."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.assistant.dialogues import dialogues_read, dialogues_samples, uss_label
from apps.assistant.models import RatedDialogue

pytestmark = pytest.mark.django_db

USS_TEXT = (
    "\n"
    "USER\tWhere is my new card?\tINFORM_INTENT\t3,3,4\n"
    "SYSTEM\tIt was sent on Monday.\tINFORM\t\n"
    "USER\tIt has not arrived.\tINFORM\t2,3,2,3\n"  # a tie between 2 and 3: the lower
    "SYSTEM\tSorry, I cannot help with that.\tNOTIFY_FAILURE\t\n"
    "USER\tOVERALL\t\t2,2,4\n"
    "\n"
    "USER\tBlock my lost card.\tINFORM_INTENT\t3,4,4\n"
    "SYSTEM\tYour card is blocked.\tNOTIFY_SUCCESS\t\n"
    "USER\tThanks!\tTHANK_YOU\t5,4\n"
)


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(*conversations: dict) -> str:
    return "".join(json.dumps(conversation) + "\n" for conversation in conversations)


CARD = {
    "id": "c-1",
    "messages": [
        {"role": "customer", "text": "Where is my card?"},
        {"role": "bot", "text": "It is on its way."},
        {"role": "customer", "text": "Still nothing.", "rating": 2},
        {"role": "agent", "text": "I have sent a new one.", "seconds": 90},
    ],
    "csat": 4,
}
REFUND = {"id": 7, "messages": [{"role": "customer", "text": "Refund please", "rating": 3}]}


def test_jsonl_conversations_are_stored_and_a_second_import_updates_them(tmp_path):
    path = write(tmp_path, "chats.jsonl", jsonl(CARD, REFUND))

    out = run("import_conversations", str(path))

    assert out == "chats.jsonl: 2 conversations, 5 turns, 2 rated turns, 1 overall ratings: 2 new, 0 updated"
    card = RatedDialogue.objects.get(source="jsonl", external_id="c-1")
    assert card.csat == 4
    assert card.turns == [
        {"role": "customer", "text": "Where is my card?", "rating": None},
        {"role": "bot", "text": "It is on its way.", "rating": None},
        {"role": "customer", "text": "Still nothing.", "rating": 2},
        {"role": "agent", "text": "I have sent a new one.", "rating": None, "seconds": 90.0},
    ]
    assert RatedDialogue.objects.get(external_id="7").csat is None

    changed = {**CARD, "csat": 5, "messages": CARD["messages"][:1]}
    out = run("import_conversations", str(write(tmp_path, "again.json", jsonl(changed))))

    assert out.endswith(": 0 new, 1 updated")
    card.refresh_from_db()
    assert (card.csat, len(card.turns)) == (5, 1)
    assert RatedDialogue.objects.count() == 2


def test_uss_dialogues_take_the_most_frequent_rating_ties_to_the_lower(tmp_path):
    path = write(tmp_path, "bank.txt", USS_TEXT)

    out = run("import_conversations", str(path))

    assert out == "bank.txt: 2 conversations, 7 turns, 4 rated turns, 1 overall ratings: 2 new, 0 updated"
    first, second = RatedDialogue.objects.filter(source="uss").order_by("external_id")
    assert (first.external_id, second.external_id) == ("bank:1", "bank:2")
    assert [(turn["role"], turn["rating"]) for turn in first.turns] == [
        ("customer", 3),
        ("bot", None),
        ("customer", 2),
        ("bot", None),
    ]
    assert first.turns[2]["ratings"] == [2, 3, 2, 3]
    assert first.turns[3]["action"] == "NOTIFY_FAILURE"
    assert (first.csat, second.csat) == (2, None)
    assert [turn["rating"] for turn in second.turns] == [4, None, 4]  # 3,4,4 then 5,4: a tie, the lower


@pytest.mark.parametrize(
    ("ratings", "label"),
    [([3, 3, 4], 3), ([2, 3], 2), ([4, 2, 4, 2], 2), ([5], 5), ([1, 2, 3], 1), ([4, 5, 5, 1], 5)],
)
def test_the_uss_label_rule(ratings, label):
    assert uss_label(ratings) == label


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "bad.jsonl",
            jsonl(CARD) + "{not json\n",
            "bad.jsonl:2: not JSON",
        ),
        (
            "bad.jsonl",
            jsonl(CARD, {"id": "x", "messages": [{"role": "customer", "text": "hi", "rating": 6}]}),
            "bad.jsonl:2: message 1: rating must be a whole number from 1 to 5, not 6",
        ),
        (
            "bad.jsonl",
            jsonl(CARD, {"id": "x", "messages": [{"role": "system", "text": "hi"}]}),
            "bad.jsonl:2: message 1: role must be one of customer, agent, bot, not 'system'",
        ),
        (
            "bad.jsonl",
            jsonl(CARD, {"id": "x", "messages": [{"role": "bot", "text": "hi", "rating": 3}]}),
            "bad.jsonl:2: message 1: only customer messages carry a rating",
        ),
        ("bad.jsonl", jsonl(CARD, {"id": "x", "messages": []}), "bad.jsonl:2: messages must be a non-empty list"),
        ("bad.jsonl", jsonl(CARD, CARD), "bad.jsonl:2: id 'c-1' is already on line 1"),
        ("bad.jsonl", jsonl(CARD, {**REFUND, "csat": "5"}), "bad.jsonl:2: csat must be a whole number from 1 to 5"),
        ("bad.txt", USS_TEXT + "\nUSER\tHello\tGREET\t3,x\n", "bad.txt:12: a USER line needs ratings like 3,4,3"),
        ("bad.txt", USS_TEXT + "\nBOT\tHello\tGREET\t3\n", "bad.txt:12: the role must be USER or SYSTEM, not 'BOT'"),
        ("bad.txt", USS_TEXT + "\nUSER\tHello\t3,3\n", "bad.txt:12: expected 4 tab-separated fields"),
        ("bad.txt", USS_TEXT + "\nUSER\tHello\tGREET\t3,0\n", "bad.txt:12: ratings go from 1 to 5, got 3,0"),
        ("bad.txt", USS_TEXT + "\nSYSTEM\t \tGREET\t\n", "bad.txt:12: empty text"),
    ],
)
def test_a_bad_line_names_file_and_line_and_nothing_is_stored(tmp_path, name, text, message):
    path = write(tmp_path, name, text)

    with pytest.raises(CommandError) as raised:
        run("import_conversations", str(path))

    assert str(raised.value).startswith(message)
    assert str(raised.value).endswith("; nothing imported")
    assert not RatedDialogue.objects.exists()


def test_the_format_follows_the_extension_unless_given(tmp_path):
    uss_in_a_log = write(tmp_path, "bank.log", USS_TEXT)

    with pytest.raises(CommandError, match=r"bank\.log: cannot tell the format from \.log; use --format"):
        run("import_conversations", str(uss_in_a_log))
    out = run("import_conversations", str(uss_in_a_log), "--format", "uss")

    assert out.endswith("2 new, 0 updated")
    assert set(RatedDialogue.objects.values_list("source", flat=True)) == {"uss"}
    with pytest.raises(CommandError, match=r"chats\.txt:1: expected 4 tab-separated fields"):
        run("import_conversations", str(write(tmp_path, "chats.txt", jsonl(CARD))))


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(CommandError, match="No file at"):
        run("import_conversations", str(tmp_path / "absent.jsonl"))


def test_the_published_sgd_file_parses_to_the_papers_counts(settings):
    path = settings.SHARED_DATA_DIR / "uss" / "SGD.txt"
    if not path.exists():
        pytest.skip(f"{path} is absent (the USS data set's SGD part, ../shared/data/uss)")

    dialogues = dialogues_read(path)

    # The paper's 13,833 utterances are its USER lines: 12,833 rated turns and 1,000 OVERALL lines.
    rated_turns = sum(turn["role"] == "customer" for dialogue in dialogues for turn in dialogue.turns)
    overall = sum(dialogue.csat is not None for dialogue in dialogues)
    assert len(dialogues) == 1000
    assert (rated_turns, overall, rated_turns + overall) == (12833, 1000, 13833)
    assert sum(len(dialogue.turns) for dialogue in dialogues) == 12833 + 12833
    assert len(dialogues_samples(dialogues)) == 13833
    assert dialogues[0].turns[0] == {
        "role": "customer",
        "text": "What is the weather like on the March 4th?",
        "rating": 3,
        "ratings": [3, 3, 3],
        "action": "INFORM",
    }
    assert dialogues[0].csat == 4  # OVERALL 4,3,4
