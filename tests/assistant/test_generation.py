"""Reply generation: the extractive trimming, the checks on a model's text, the local backend on a tiny GPT-2
built here (real loading and generation code), and the openai backend against a fake server on 127.0.0.1."""

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch
from django.conf import settings as django_settings
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import WhitespaceSplit
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

from apps.assistant.generation import GeneratedReply, GroundingPassage, reply_generate
from apps.assistant.generation import local as local_backend
from apps.assistant.generation.checks import CheckedText, generated_text_check, unfinished_sentence_cut
from apps.assistant.generation.extractive import extractive_answer
from apps.assistant.generation.prompt import SYSTEM_INSTRUCTIONS, grounding_messages, plain_prompt, plain_reply_cut

CARD_DELIVERY = GroundingPassage(
    title="Card delivery",
    url="https://help.example.com/kb/card-delivery",
    text=(
        "## When will my card arrive?\n\n"
        "Your new card arrives **within 3 to 5 working days** after you order it.  We send it by _standard post_\n"
        "to the address on your account.\n\n"
        "If it hasn't arrived after 7 working days, order a replacement in the app. "
        "See [the cards page](https://help.example.com/kb/cards) for details."
    ),
)
FREEZE_CARD = GroundingPassage(
    title="Freezing a card",
    url="https://help.example.com/kb/freeze",
    text=(
        "# Freezing a card\n\n"
        "To freeze your card:\n\n"
        "- Open the app and tap **Cards**.\n"
        "* Choose the card,\n  then tap *Freeze*.\n"
        "- Confirm with your PIN.\n\n"
        "---\n\n"
        "You can unfreeze it the same way at any time. Call us on +44 20 7946 0000 if the app is down."
    ),
)
EXTRACTIVE_CARD_DELIVERY = (
    "Your new card arrives within 3 to 5 working days after you order it. We send it by standard post to the "
    "address on your account. If it hasn't arrived after 7 working days, order a replacement in the app. See the "
    "cards page for details."
)


# --- extractive ----------------------------------------------------------------------------------------------


def test_extractive_strips_markdown_and_keeps_whole_sentences():
    assert extractive_answer(CARD_DELIVERY) == EXTRACTIVE_CARD_DELIVERY


def test_extractive_keeps_list_items_on_their_own_lines():
    assert extractive_answer(FREEZE_CARD) == (
        "To freeze your card:\n"
        "- Open the app and tap Cards.\n"
        "- Choose the card, then tap Freeze.\n"
        "- Confirm with your PIN.\n"
        "You can unfreeze it the same way at any time. Call us on +44 20 7946 0000 if the app is down."
    )


def test_extractive_stops_before_the_sentence_that_would_pass_the_limit():
    first = "Transfers to another bank take up to one working day."  # 54 characters
    second = "Transfers in another currency can take up to five working days, e.g. to the United States."
    passage = GroundingPassage(title="Transfers", url="https://help.example.com/kb/t", text=f"{first} {second}")

    assert extractive_answer(passage, max_chars=100) == first
    assert extractive_answer(passage, max_chars=len(first) + 1 + len(second)) == f"{first} {second}"


def test_extractive_splits_sentences_after_closing_quotes_but_not_after_abbreviations():
    passage = GroundingPassage(
        title="Disputes",
        url="https://help.example.com/kb/disputes",
        text='Tap "I don\'t recognise this." Then wait, e.g. two days. (We reply by email.) Thanks.',
    )

    assert extractive_answer(passage, max_chars=60) == 'Tap "I don\'t recognise this." Then wait, e.g. two days.'
    assert extractive_answer(passage, max_chars=30) == 'Tap "I don\'t recognise this."'


def test_extractive_drops_an_introduction_whose_list_did_not_fit():
    passage = GroundingPassage(
        title="Top up",
        url="https://help.example.com/kb/top-up",
        text="Top-ups arrive at once. To top up by bank transfer:\n\n1. Copy your account details from the app.\n",
    )

    assert extractive_answer(passage, max_chars=60) == "Top-ups arrive at once."


def test_extractive_cuts_one_overlong_sentence_at_a_word_with_an_ellipsis():
    passage = GroundingPassage(
        title="Fees", url="https://help.example.com/kb/fees", text="We charge no fee for card payments abroad today."
    )

    assert extractive_answer(passage, max_chars=30) == "We charge no fee for card…"


def test_extractive_answers_with_the_title_when_the_passage_is_only_headings():
    passage = GroundingPassage(
        title="Cards **and** PINs", url="https://help.example.com/kb/c", text="# Cards\n## PINs\n"
    )

    assert extractive_answer(passage) == "Cards and PINs"


def test_extractive_reads_a_table_row_by_row_with_its_column_names():
    passage = GroundingPassage(
        title="Delivery options",
        url="https://help.example.com/kb/delivery",
        text=(
            "| Option | UK | Price |\n"
            "|---|:---:|---|\n"
            "| **Standard** | 3-5 working days | Free |\n"
            "| Express | 1-2 working days | £4.99, free on Premium |\n"
            "\n"
            "Weekends don't count."
        ),
    )

    assert extractive_answer(passage) == (
        "- Standard \u2014 UK: 3-5 working days; Price: Free\n"
        "- Express \u2014 UK: 1-2 working days; Price: £4.99, free on Premium\n"
        "Weekends don't count."
    )


def test_reply_generate_extractive_uses_the_first_passage():
    reply = reply_generate(backend="extractive", question="Where is my card?", passages=[CARD_DELIVERY, FREEZE_CARD])

    assert reply == GeneratedReply(
        text=EXTRACTIVE_CARD_DELIVERY, backend="extractive", requested_backend="extractive", fallback_reason=""
    )


@pytest.mark.parametrize(
    ("backend", "passages", "message"),
    [
        ("gpt", [CARD_DELIVERY], "unknown reply backend 'gpt'; use one of extractive, local, openai"),
        ("extractive", [], "reply_generate needs at least one passage"),
    ],
)
def test_reply_generate_refuses_a_bad_call(backend, passages, message):
    with pytest.raises(ValueError, match=message):
        reply_generate(backend=backend, question="Where is my card?", passages=passages)


def test_the_package_and_the_extractive_backend_do_not_load_torch():
    code = (
        "import sys, django; django.setup()\n"
        "from apps.assistant.generation import GroundingPassage, reply_generate\n"
        "reply_generate(backend='extractive', question='q', passages=[GroundingPassage('t', 'u', 'An answer.')])\n"
        "print(sorted(name for name in ('torch', 'transformers') if name in sys.modules))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "helpdesk.settings"}

    result = subprocess.run(  # our own interpreter, fixed code
        [sys.executable, "-c", code], cwd=django_settings.BASE_DIR, env=env, capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "[]"


# --- the grounding prompt ------------------------------------------------------------------------------------


def test_grounding_messages_hold_the_passages_the_recent_turns_and_the_question():
    history = [("customer", "Hi"), ("bot", "Hello! How can I help?"), ("agent", "Alice here."), ("customer", "Card?")]

    messages = grounding_messages(question="Card?", passages=[CARD_DELIVERY], history=history)

    assert messages == [
        {"role": "system", "content": f"{SYSTEM_INSTRUCTIONS}\n\nPassage 1: Card delivery\n{CARD_DELIVERY.text}"},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "assistant", "content": "Alice here."},
        {"role": "user", "content": "Card?"},  # the question, once
    ]


def test_grounding_messages_refuse_an_unknown_role():
    with pytest.raises(ValueError, match="history role must be one of customer, bot, agent, got 'note'"):
        grounding_messages(question="Card?", passages=[CARD_DELIVERY], history=[("note", "VIP customer")])


def test_plain_prompt_names_the_speakers_and_ends_where_the_assistant_speaks():
    messages = [
        {"role": "system", "content": "Answer from the passages."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Card?"},
    ]

    assert plain_prompt(messages) == (
        "Instructions: Answer from the passages.\n\nCustomer: Hi\n\nAssistant: Hello!\n\nCustomer: Card?\n\nAssistant:"
    )


def test_plain_reply_cut_ends_at_the_turn_the_model_made_up():
    assert plain_reply_cut(" It arrives in 3 days.\n\nCustomer: thanks\nAssistant: You're welcome.") == (
        "It arrives in 3 days."
    )


# --- the checks ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It arrives in 3 days. Then tap", "It arrives in 3 days."),
        ("It arrives in 3 days. Tap Cards!  ", "It arrives in 3 days. Tap Cards!"),
        ("It arrives in", "It arrives in"),  # nothing finished: the checks judge it whole
    ],
)
def test_unfinished_sentence_cut(text, expected):
    assert unfinished_sentence_cut(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Your card arrives in 3 to 5 working days.  ", CheckedText("Your card arrives in 3 to 5 working days.")),
        ("Assistant: It arrives in 3 days.", CheckedText("It arrives in 3 days.")),
        ("**Bot:** answer: It arrives in 3 days.", CheckedText("It arrives in 3 days.")),
        ("AI-powered cards arrive faster.", CheckedText("AI-powered cards arrive faster.")),
        ("Assistant:   ", CheckedText("", "empty")),
        ("x" * 701, CheckedText("x" * 701, "too long (701 characters, limit 700)")),
        ("x" * 700, CheckedText("x" * 700)),
        # Links: the passage's own URL and one in its text pass, however written; any other is invented.
        (
            "Read https://help.example.com/kb/card-delivery.",
            CheckedText("Read https://help.example.com/kb/card-delivery."),
        ),
        ("See HTTP://help.example.com/kb/cards/ now", CheckedText("See HTTP://help.example.com/kb/cards/ now")),
        (
            "Claim it at https://card-refunds.example.net/form.",
            CheckedText(
                "Claim it at https://card-refunds.example.net/form.",
                "invented link: https://card-refunds.example.net/form",
            ),
        ),
        ("Go to www.example.org", CheckedText("Go to www.example.org", "invented link: www.example.org")),
        # Personal details: in the passages they pass, anything else is echoed or made up.
        (
            "We wrote to jane.doe+bank@example.com.",
            CheckedText("We wrote to jane.doe+bank@example.com.", "email address not in the passages"),
        ),
        ("Call +44 20 7946 0000.", CheckedText("Call +44 20 7946 0000.")),
        ("Call 020-7946-0000.", CheckedText("Call 020-7946-0000.", "phone number not in the passages")),
        ("Call 2079460000 today.", CheckedText("Call 2079460000 today.")),  # the passage's number without +44
        (
            "Your card 4111 1111 1111 1111 is frozen.",
            CheckedText("Your card 4111 1111 1111 1111 is frozen.", "card-like number not in the passages"),
        ),
        (
            "Card 4111-1111-1111-1111 is frozen.",
            CheckedText("Card 4111-1111-1111-1111 is frozen.", "card-like number not in the passages"),
        ),
        # Other numbers: the passages' fees, delays and times pass, written as they are; made-up ones do not.
        ("It arrives in 3 to 5 working days.", CheckedText("It arrives in 3 to 5 working days.")),
        (
            "It arrives in 3 to 5 working days, by 2025.",
            CheckedText("It arrives in 3 to 5 working days, by 2025.", "number not in the passages: 2025"),
        ),
        ("1. Open the app.\n2. Tap Cards.", CheckedText("1. Open the app.\n2. Tap Cards.")),  # list numbers
        (
            "Express takes 2 hours.",
            CheckedText("Express takes 2 hours.", "number not in the passages: 2"),
        ),
        # A small model's loop: the same 8 words twice, in whatever sentences; shorter phrases may repeat.
        (
            "Sorry, I'm unable to assist with your specific needs. I'm unable to assist with your specific needs!",
            CheckedText(
                "Sorry, I'm unable to assist with your specific needs. I'm unable to assist with your specific needs!",
                'repeats itself: "i\'m unable to assist with your specific needs"',
            ),
        ),
        (
            "Tap Cards, then the card. Tap Cards, then Freeze.",
            CheckedText("Tap Cards, then the card. Tap Cards, then Freeze."),
        ),
    ],
)
def test_generated_text_check(text, expected):
    assert generated_text_check(text=text, passages=[CARD_DELIVERY, FREEZE_CARD]) == expected


# --- local: a tiny GPT-2 built here --------------------------------------------------------------------------

INVENTED_LINK = "https://win-a-card.example"
TINY_WORDS = ["card", "arrives", "in", "days", "your", "the", "app", "order", "a", "replacement", INVENTED_LINK]
TINY_CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] }} {{ message['content'] }} {% endfor %}"
    "{% if add_generation_prompt %}assistant {% endif %}"
)


def tiny_gpt2_folder(folder: Path, *, says: str, chat_template: str = "", context: int = 512) -> Path:
    """A one-layer GPT-2 whose greedy output is ``says`` over and over, whatever the prompt: its final layer
    norm outputs one fixed direction, and only ``says``'s (tied) embedding points along it."""
    vocab = {token: index for index, token in enumerate(["[UNK]", "[PAD]", "<|endoftext|>", *TINY_WORDS])}
    backend = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]", eos_token="<|endoftext|>"
    )
    if chat_template:
        tokenizer.chat_template = chat_template
    tokenizer.save_pretrained(folder)
    config = GPT2Config(
        vocab_size=len(vocab), n_positions=context, n_embd=16, n_layer=1, n_head=2, bos_token_id=2, eos_token_id=2
    )
    torch.manual_seed(0)
    model = GPT2LMHeadModel(config)
    with torch.no_grad():
        model.transformer.ln_f.weight.zero_()
        model.transformer.ln_f.bias.zero_()
        model.transformer.ln_f.bias[0] = 1.0
        model.transformer.wte.weight[:, 0] = 0.0
        model.transformer.wte.weight[vocab[says], 0] = 1.0
    model.save_pretrained(folder)
    return folder


@pytest.fixture
def tiny_llm(settings, tmp_path) -> Iterator[None]:
    """The local backend on the CPU, writing four tokens, with nothing loaded before or after the test."""
    settings.HELPDESK_DEVICE = "cpu"
    settings.HELPDESK_LLM_MAX_NEW_TOKENS = 4
    local_backend._loaded = None
    yield
    local_backend._loaded = None


@pytest.mark.usefixtures("tiny_llm")
@pytest.mark.parametrize("chat_template", ["", TINY_CHAT_TEMPLATE], ids=["plain prompt", "chat template"])
def test_local_returns_the_models_text(settings, tmp_path, chat_template):
    settings.HELPDESK_LLM_PATH = tiny_gpt2_folder(tmp_path / "llm", says="card", chat_template=chat_template)

    reply = reply_generate(
        backend="local", question="Where is my card?", passages=[CARD_DELIVERY], history=[("customer", "Hi")]
    )

    assert reply == GeneratedReply(text="card card card card", backend="local", requested_backend="local")
    loaded = local_backend.local_lm()
    assert (loaded.path, loaded.device.type, loaded.has_chat_template) == (
        settings.HELPDESK_LLM_PATH,
        "cpu",
        bool(chat_template),
    )


@pytest.mark.usefixtures("tiny_llm")
def test_local_loads_the_model_once_per_process(settings, tmp_path):
    settings.HELPDESK_LLM_PATH = tiny_gpt2_folder(tmp_path / "llm", says="card")
    first = local_backend.local_lm()

    reply_generate(backend="local", question="Where is my card?", passages=[CARD_DELIVERY])

    assert local_backend.local_lm() is first


@pytest.mark.usefixtures("tiny_llm")
def test_local_text_that_fails_the_checks_falls_back_to_extractive(settings, tmp_path):
    settings.HELPDESK_LLM_PATH = tiny_gpt2_folder(tmp_path / "llm", says=INVENTED_LINK)

    reply = reply_generate(backend="local", question="Where is my card?", passages=[CARD_DELIVERY])

    assert reply == GeneratedReply(
        text=EXTRACTIVE_CARD_DELIVERY,
        backend="extractive",
        requested_backend="local",
        fallback_reason=f"generated text refused: invented link: {INVENTED_LINK}",
    )


@pytest.mark.usefixtures("tiny_llm")
def test_local_prompt_longer_than_the_context_falls_back(settings, tmp_path):
    settings.HELPDESK_LLM_PATH = tiny_gpt2_folder(tmp_path / "llm", says="card", context=32)
    messages = grounding_messages(question="Where is my card?", passages=[CARD_DELIVERY], history=[])
    prompt_tokens = len(local_backend.local_lm().tokenizer(plain_prompt(messages))["input_ids"])

    reply = reply_generate(backend="local", question="Where is my card?", passages=[CARD_DELIVERY])

    assert reply.fallback_reason == (
        f"local backend failed: prompt of {prompt_tokens} tokens leaves no room in a context of 32"
    )
    assert (reply.backend, reply.text) == ("extractive", EXTRACTIVE_CARD_DELIVERY)


@pytest.mark.usefixtures("tiny_llm")
def test_local_without_a_model_falls_back(settings, tmp_path):
    settings.HELPDESK_LLM_PATH = tmp_path / "nothing-here"

    reply = reply_generate(backend="local", question="Where is my card?", passages=[CARD_DELIVERY])

    assert reply == GeneratedReply(
        text=EXTRACTIVE_CARD_DELIVERY,
        backend="extractive",
        requested_backend="local",
        fallback_reason=(
            f"local backend failed: no model at {tmp_path / 'nothing-here'} "
            "(run manage.py prepare_llm, or set HELPDESK_LLM_PATH)"
        ),
    )
    assert local_backend._loaded is None


# --- openai: a fake OpenAI-compatible server -----------------------------------------------------------------


@dataclass
class FakeCompletions:
    """What the fake server was sent, and what it does with the next request."""

    base_url: str = ""
    status: int = 200
    body: bytes = b""
    stall: bool = False  # hold the answer until the test ends
    requests: list[dict] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)

    def answer_with(self, content: str) -> None:
        self.body = json.dumps(
            {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}
        ).encode()


@pytest.fixture
def fake_openai(settings) -> Iterator[FakeCompletions]:
    fake = FakeCompletions()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's name
            length = int(self.headers["Content-Length"])
            fake.requests.append(
                {"path": self.path, "headers": dict(self.headers), "body": json.loads(self.rfile.read(length))}
            )
            if fake.stall:
                fake.released.wait(timeout=5)
            self.send_response(fake.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(fake.body)))
            self.end_headers()
            self.wfile.write(fake.body)

        def log_message(self, *args) -> None:
            pass  # no request lines in the test output

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.base_url = f"http://127.0.0.1:{server.server_port}/v1"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    settings.HELPDESK_OPENAI_BASE_URL = fake.base_url
    settings.HELPDESK_OPENAI_MODEL = "qwen2.5:0.5b"
    settings.HELPDESK_OPENAI_API_KEY = "sk-test"
    settings.HELPDESK_OPENAI_TIMEOUT = 5
    settings.HELPDESK_LLM_MAX_NEW_TOKENS = 80
    yield fake
    fake.released.set()
    server.shutdown()
    server.server_close()


def test_openai_sends_the_grounding_prompt_and_returns_the_completion(fake_openai):
    fake_openai.answer_with("Assistant: It arrives within 3 to 5 working days.")
    history = [("customer", "Hello"), ("bot", "Hi! How can I help?")]

    reply = reply_generate(backend="openai", question="Where is my card?", passages=[CARD_DELIVERY], history=history)

    assert reply == GeneratedReply(
        text="It arrives within 3 to 5 working days.", backend="openai", requested_backend="openai"
    )
    [request] = fake_openai.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-test"
    assert request["body"] == {
        "model": "qwen2.5:0.5b",
        "messages": [
            {"role": "system", "content": f"{SYSTEM_INSTRUCTIONS}\n\nPassage 1: Card delivery\n{CARD_DELIVERY.text}"},
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hi! How can I help?"},
            {"role": "user", "content": "Where is my card?"},
        ],
        "temperature": 0,
        "max_tokens": 80,
    }
    assert FREEZE_CARD.text not in json.dumps(request["body"])  # only the passages it was given


def test_openai_completion_cut_by_its_token_limit_ends_at_its_last_full_sentence(fake_openai):
    fake_openai.body = json.dumps(
        {
            "choices": [
                {
                    "message": {"content": "It arrives in 3 to 5 working days. After 7 days, ord"},
                    "finish_reason": "length",
                }
            ]
        }
    ).encode()

    reply = reply_generate(backend="openai", question="Where is my card?", passages=[CARD_DELIVERY])

    assert (reply.text, reply.backend) == ("It arrives in 3 to 5 working days.", "openai")


def test_openai_sends_no_authorization_without_a_key(settings, fake_openai):
    settings.HELPDESK_OPENAI_API_KEY = ""
    fake_openai.answer_with("It arrives within 3 to 5 working days.")

    reply_generate(backend="openai", question="Where is my card?", passages=[CARD_DELIVERY])

    assert "Authorization" not in fake_openai.requests[0]["headers"]


def test_openai_http_error_falls_back_with_the_status(fake_openai):
    fake_openai.status, fake_openai.body = 500, b'{"error": "model crashed"}'

    reply = reply_generate(backend="openai", question="Where is my card?", passages=[CARD_DELIVERY])

    assert reply == GeneratedReply(
        text=EXTRACTIVE_CARD_DELIVERY,
        backend="extractive",
        requested_backend="openai",
        fallback_reason=f"openai backend failed: HTTP 500 from {fake_openai.base_url}/chat/completions: "
        '{"error": "model crashed"}',
    )


def test_openai_timeout_falls_back(settings, fake_openai):
    settings.HELPDESK_OPENAI_TIMEOUT = 0.2
    fake_openai.stall = True
    fake_openai.answer_with("Too late.")

    reply = reply_generate(backend="openai", question="Where is my card?", passages=[CARD_DELIVERY])

    assert reply.fallback_reason == (
        f"openai backend failed: no answer from {fake_openai.base_url}/chat/completions within 0.2 s"
    )
    assert (reply.backend, reply.text) == ("extractive", EXTRACTIVE_CARD_DELIVERY)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>Bad gateway</html>", "bad JSON from {url}: <html>Bad gateway</html>"),
        (b'{"object": "list", "data": []}', 'not a chat completion from {url}: {{"object": "list", "data": []}}'),
        (b'{"choices": [{"message": {"content": null}}]}', "the completion's content is NoneType, not text"),
    ],
)
def test_openai_unusable_body_falls_back(fake_openai, body, reason):
    fake_openai.body = body

    reply = reply_generate(backend="openai", question="Where is my card?", passages=[CARD_DELIVERY])

    url = f"{fake_openai.base_url}/chat/completions"
    assert reply.fallback_reason == "openai backend failed: " + reason.format(url=url)
    assert reply.backend == "extractive"


def test_openai_text_that_echoes_a_card_number_falls_back(fake_openai):
    fake_openai.answer_with("Your card 4111 1111 1111 1111 arrives in 3 days.")

    reply = reply_generate(backend="openai", question="Where is my card 4111 1111 1111 1111?", passages=[CARD_DELIVERY])

    assert reply.fallback_reason == "generated text refused: card-like number not in the passages"
    assert (reply.backend, reply.requested_backend) == ("extractive", "openai")


def redact_digits(text: str, *, names=()) -> str:
    return re.sub(r"\d", "#", text)


def test_openai_gets_what_people_wrote_through_the_redactor(settings, fake_openai):
    settings.HELPDESK_REDACTOR = "tests.assistant.test_generation.redact_digits"
    fake_openai.answer_with("It arrives within 3 to 5 working days.")

    reply_generate(
        backend="openai",
        question="Where is card 4111 1111 1111 1111?",
        passages=[CARD_DELIVERY],
        history=[("customer", "My phone is 07700 900123")],
    )

    messages = fake_openai.requests[0]["body"]["messages"]
    assert [message["content"] for message in messages[1:]] == [
        "My phone is ##### ######",
        "Where is card #### #### #### ####?",
    ]
    assert "3 to 5 working days" in messages[0]["content"]  # the passage is published text, not redacted


@pytest.mark.parametrize(
    ("setting", "value", "reason"),
    [
        ("HELPDESK_OPENAI_MODEL", "", "HELPDESK_OPENAI_MODEL is not set"),
        ("HELPDESK_OPENAI_BASE_URL", "", "HELPDESK_OPENAI_BASE_URL must be an http(s) URL, got ''"),
        (
            "HELPDESK_OPENAI_BASE_URL",
            "file:///etc",
            "HELPDESK_OPENAI_BASE_URL must be an http(s) URL, got 'file:///etc'",
        ),
    ],
)
def test_openai_unconfigured_falls_back_without_a_request(settings, fake_openai, setting, value, reason):
    setattr(settings, setting, value)

    reply = reply_generate(backend="openai", question="Where is my card?", passages=[CARD_DELIVERY])

    assert reply.fallback_reason == f"openai backend failed: {reason}"
    assert fake_openai.requests == []


def test_openai_unreachable_falls_back(settings):
    settings.HELPDESK_OPENAI_BASE_URL = "http://127.0.0.1:9/v1"  # the discard port: nothing listens
    settings.HELPDESK_OPENAI_MODEL = "qwen2.5:0.5b"

    reply = reply_generate(backend="openai", question="Where is my card?", passages=[CARD_DELIVERY])

    assert reply.fallback_reason == (
        "openai backend failed: cannot reach http://127.0.0.1:9/v1/chat/completions: [Errno 111] Connection refused"
    )
