"""The agents' inbox pages: who may open them, what the server renders, and what it costs."""

import json
import re
import shutil
import subprocess
from datetime import timedelta
from html import unescape

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from apps.accounts.models import Team
from apps.accounts.roles import AGENTS
from apps.accounts.services import agent_profile_ensure, agent_set_presence, user_set_roles
from apps.conversations.models import CannedReply, Conversation, Message
from apps.conversations.services import conversation_start, message_post
from apps.customers.models import Customer
from apps.tickets.models import Ticket

pytestmark = pytest.mark.django_db

INBOX = "/inbox/"


def _page(client, user, path=INBOX):
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200
    return response


def _conversation(customer, *, state=Conversation.State.BOT, waiting_minutes=None, assignee=None, team=None):
    conversation = conversation_start(customer=customer, team=team)
    handoff_requested_at = timezone.now() - timedelta(minutes=waiting_minutes) if waiting_minutes else None
    # Hand-made states: the routing services that move conversations along are not what is under test.
    Conversation.objects.filter(pk=conversation.pk).update(
        state=state, assignee=assignee, handoff_requested_at=handoff_requested_at
    )
    conversation.refresh_from_db()
    return conversation


def _customer(name: str) -> Customer:
    return Customer.objects.create(name=name, email=f"{name.lower()}@example.com")


def _list_order(html: str) -> list[int]:
    """Conversation ids in the order the list shows them (the list precedes the conversation column)."""
    listing = html.split('id="inbox-list"', 1)[1].split('id="inbox-conversation"', 1)[0]
    return [int(pk) for pk in re.findall(r'<li class="inbox-item[^"]*"\s+data-conversation="(\d+)"', listing)]


# --- Access ---------------------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_admin_login(client, conversation):
    for path in (INBOX, f"{INBOX}{conversation.pk}/"):
        response = client.get(path)

        assert response.status_code == 302
        assert response["Location"] == f"/admin/login/?next={path}"


@pytest.mark.parametrize("user_fixture", ["plain_user_pat", "mladmin_mo"])
def test_logged_in_users_without_an_inbox_role_are_forbidden(client, request, user_fixture, conversation):
    client.force_login(request.getfixturevalue(user_fixture))

    assert client.get(INBOX).status_code == 403
    assert client.get(f"{INBOX}{conversation.pk}/").status_code == 403


@pytest.mark.parametrize("user_fixture", ["agent_alice", "admin_ada"])
def test_agents_and_admins_get_the_reply_box_and_the_actions(client, request, user_fixture, conversation):
    response = _page(client, request.getfixturevalue(user_fixture), f"{INBOX}{conversation.pk}/")

    html = response.content.decode()
    assert response.context["can_write"] is True
    assert response.context["inbox_config"]["me"]["can_write"] is True
    for dom_id in (
        "inbox-reply-form",
        "inbox-reply",
        "inbox-send",
        "inbox-note-toggle",
        "inbox-canned",
        "inbox-assign-me",
        "inbox-transfer-team",
        "inbox-transfer-agent",
        "inbox-resolve",
        "inbox-presence",
    ):
        assert f'id="{dom_id}"' in html, dom_id
    assert 'id="inbox-read-only"' not in html


def test_managers_watch_read_only(client, manager_maria, conversation):
    message_post(conversation=conversation, role=Message.Role.CUSTOMER, text="Where is my card?")

    response = _page(client, manager_maria, f"{INBOX}{conversation.pk}/")

    html = response.content.decode()
    assert response.context["can_write"] is False
    assert response.context["inbox_config"]["me"]["can_write"] is False
    assert "Where is my card?" in html
    assert 'id="inbox-read-only"' in html
    for dom_id in (
        "inbox-reply-form",
        "inbox-reply",
        "inbox-send",
        "inbox-assign-me",
        "inbox-resolve",
        "inbox-presence",
    ):
        assert f'id="{dom_id}"' not in html, dom_id


def test_an_unknown_conversation_is_not_found(client, agent_alice):
    client.force_login(agent_alice)

    assert client.get(f"{INBOX}999999/").status_code == 404


def test_the_page_is_the_inbox_layout_not_the_bank_site(client, agent_alice):
    html = _page(client, agent_alice).content.decode()

    assert "inbox/inbox.css" in html
    assert "inbox/inbox.js" in html
    assert "css/site.css" not in html
    assert "Northwind Bank" not in html
    assert 'id="inbox-config" type="application/json"' in html


# --- The list -------------------------------------------------------------------------------------------


def test_the_list_puts_the_longest_wait_first_then_mine_then_the_other_open_ones(client, agent_alice, admin_ada):
    waiting_5 = _conversation(_customer("Wendy"), state=Conversation.State.WAITING, waiting_minutes=5)
    waiting_30 = _conversation(_customer("Walt"), state=Conversation.State.WAITING, waiting_minutes=30)
    mine = _conversation(_customer("Mia"), state=Conversation.State.AGENT, assignee=agent_alice)
    someone_elses = _conversation(_customer("Otto"), state=Conversation.State.AGENT, assignee=admin_ada)
    with_the_bot = _conversation(_customer("Bea"))
    closed = _conversation(_customer("Cleo"), state=Conversation.State.CLOSED)
    # Activity orders the non-waiting ones: the bot conversation spoke last.
    message_post(conversation=someone_elses, role=Message.Role.CUSTOMER, text="Earlier")
    message_post(conversation=with_the_bot, role=Message.Role.CUSTOMER, text="Later")

    response = _page(client, agent_alice)

    sections = response.context["sections"]
    assert [c.pk for c in sections.waiting] == [waiting_30.pk, waiting_5.pk]
    assert [c.pk for c in sections.mine] == [mine.pk]
    assert [c.pk for c in sections.others] == [with_the_bot.pk, someone_elses.pk]
    expected = [waiting_30.pk, waiting_5.pk, mine.pk, with_the_bot.pk, someone_elses.pk]
    assert _list_order(response.content.decode()) == expected
    assert [s["id"] for s in response.context["inbox_config"]["conversations"]] == expected
    assert closed.pk not in _list_order(response.content.decode())


def test_list_rows_carry_the_waiting_time_preview_and_last_seq(client, agent_alice):
    waiting = _conversation(_customer("Walt"), state=Conversation.State.WAITING, waiting_minutes=30)
    message_post(conversation=waiting, role=Message.Role.CUSTOMER, text="Hello?")
    message_post(conversation=waiting, role=Message.Role.CUSTOMER, text="Anyone there?")

    html = _page(client, agent_alice).content.decode()

    assert f'data-conversation="{waiting.pk}" data-state="waiting" data-last-seq="2"' in html
    assert "waiting 30\xa0minutes" in html
    assert "Anyone there?" in html
    summary = _page(client, agent_alice).context["inbox_config"]["conversations"][0]
    assert summary["last_seq"] == 2
    assert summary["preview"] == "Anyone there?"
    assert summary["waiting_since"] is not None
    assert summary["url"] == f"{INBOX}{waiting.pk}/"


def test_the_presence_strip_shows_the_other_agents_not_me(client, agent_alice, admin_ada, team_cards):
    bob = get_user_model().objects.create_user(username="bob", password="pw-bob")
    user_set_roles(user=bob, roles=[AGENTS])
    agent_set_presence(profile=agent_profile_ensure(user=bob, teams=[team_cards]), presence="away")

    html = _page(client, agent_alice).content.decode()

    strip = html.split('id="inbox-agents"', 1)[1].split("</ul>", 1)[0]
    assert f'data-agent="{bob.pk}" data-presence="away"' in strip
    assert f'data-agent="{agent_alice.pk}"' not in strip
    # Only people with an agent profile can be assigned; the Admin role without one is not offered.
    assert f'data-agent="{admin_ada.pk}"' not in strip


# --- The transcript -------------------------------------------------------------------------------------


def test_notes_are_marked_and_message_text_is_escaped(client, agent_alice, conversation):
    message_post(conversation=conversation, role=Message.Role.CUSTOMER, text="<script>alert('x')</script> hi")
    message_post(conversation=conversation, role=Message.Role.NOTE, text="VIP, be gentle", author=agent_alice)
    message_post(conversation=conversation, role=Message.Role.AGENT, text="Hello Carl", author=agent_alice)

    html = _page(client, agent_alice, f"{INBOX}{conversation.pk}/").content.decode()

    transcript = html.split('id="inbox-transcript"', 1)[1].split("</ol>", 1)[0]
    seqs = re.findall(r'<li class="msg msg--(\w+)" data-seq="(\d+)"', transcript)
    assert seqs == [("customer", "1"), ("note", "2"), ("agent", "3")]
    note = transcript.split('data-seq="2"', 1)[1].split("</li>", 1)[0]
    assert "Note — not sent to the customer" in note
    assert "VIP, be gentle" in note
    assert transcript.count("Note — not sent to the customer") == 1
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; hi" in transcript
    # Neither the transcript, the list preview nor the json_script data lets the tag through.
    assert "<script>alert" not in html


def test_the_selected_conversation_is_marked_in_the_list(client, agent_alice, conversation):
    html = _page(client, agent_alice, f"{INBOX}{conversation.pk}/").content.decode()

    assert f'data-conversation="{conversation.pk}" data-state="bot"' in html
    assert 'aria-current="page"' in html
    assert f'id="inbox-conversation" tabindex="-1"\n        data-conversation="{conversation.pk}"' in html


def test_canned_replies_of_my_teams_and_for_everyone_are_in_the_picker(client, agent_alice, team_cards):
    other_team = Team.objects.create(name="Loans", slug="loans")
    CannedReply.objects.create(title="Greeting", shortcut="hello", text="Hi, I'm here to help.")
    CannedReply.objects.create(title="Card ETA", shortcut="card-eta", text="Cards take 3-5 days.", team=team_cards)
    CannedReply.objects.create(title="Loan rates", shortcut="rates", text="See our rates.", team=other_team)
    conversation = _conversation(_customer("Carla"))

    response = _page(client, agent_alice, f"{INBOX}{conversation.pk}/")

    shortcuts = [reply["shortcut"] for reply in response.context["inbox_config"]["canned_replies"]]
    assert shortcuts == ["card-eta", "hello"]
    html = response.content.decode()
    assert '<option value="hello">Greeting (/hello)</option>' in html
    assert "rates" not in shortcuts


# --- The customer panel ---------------------------------------------------------------------------------


def test_the_side_panel_shows_this_customers_history_and_not_anyone_elses(client, agent_alice, customer_carl):
    earlier = _conversation(customer_carl, state=Conversation.State.CLOSED)
    current = _conversation(customer_carl, state=Conversation.State.WAITING, waiting_minutes=2)
    carl_ticket = Ticket.objects.create(customer=customer_carl, subject="Card never arrived")
    dora = _customer("Dora")
    doras = _conversation(dora, state=Conversation.State.CLOSED)
    Ticket.objects.create(customer=dora, subject="Dora's mortgage")

    response = _page(client, agent_alice, f"{INBOX}{current.pk}/")

    panel = response.context["panel"]
    assert panel.customer == customer_carl
    assert [c.pk for c in panel.past_conversations] == [earlier.pk]
    assert [t.pk for t in panel.tickets] == [carl_ticket.pk]
    assert panel.attributes == [("tier", "gold")]
    html = response.content.decode()
    side = html.split('id="inbox-panel"', 1)[1]
    assert "carl@example.com" in side
    assert '<dt>Tier</dt><dd class="panel-attribute" data-attribute="tier">gold</dd>' in side
    assert f'href="{INBOX}{earlier.pk}/"' in side
    assert "Card never arrived" in side
    assert f'href="{INBOX}{doras.pk}/"' not in html
    assert "mortgage" not in html


def test_the_suggestions_section_is_there_and_empty(client, agent_alice, conversation):
    html = _page(client, agent_alice, f"{INBOX}{conversation.pk}/").content.decode()

    section = html.split('id="inbox-suggestions"', 1)[1].split("</section>", 1)[0]
    assert '<h2 id="inbox-suggestions-title">Suggested replies</h2>' in section
    assert '<ol class="suggestion-list" id="inbox-suggestions-list" aria-live="polite"></ol>' in section


# --- Cost -----------------------------------------------------------------------------------------------

# Session, user, role groups; the list, the selected conversation, the agents, the canned replies, the
# transcript, the customer's past conversations, their tickets, the teams. None of them is per row.
INBOX_PAGE_MAX_QUERIES = 12


def _busy_desk(count: int, agent, team) -> Conversation:
    """``count`` each of open conversations with messages, customers with tickets and past conversations,
    agents, teams and canned replies."""
    selected = None
    for index in range(count):
        colleague = get_user_model().objects.create_user(username=f"agent{index}", first_name=f"Agent {index}")
        user_set_roles(user=colleague, roles=[AGENTS])
        agent_profile_ensure(user=colleague, teams=[Team.objects.create(name=f"Team {index}", slug=f"team-{index}")])
        CannedReply.objects.create(title=f"Reply {index}", shortcut=f"reply-{index}", text="Hi", team=team)
        customer = _customer(f"Customer{index}")
        Ticket.objects.create(customer=customer, subject=f"Ticket {index}")
        _conversation(customer, state=Conversation.State.CLOSED)
        state = Conversation.State.WAITING if index % 2 else Conversation.State.AGENT
        conversation = _conversation(customer, state=state, waiting_minutes=index + 1, assignee=agent)
        message_post(conversation=conversation, role=Message.Role.CUSTOMER, text=f"Question {index}")
        message_post(conversation=conversation, role=Message.Role.NOTE, text="A note", author=agent)
        message_post(conversation=conversation, role=Message.Role.AGENT, text="An answer", author=agent)
        selected = conversation
    return selected


@pytest.mark.parametrize("count", [3, 10])
def test_the_inbox_page_costs_the_same_queries_for_3_or_10_conversations(
    client, agent_alice, team_cards, django_assert_max_num_queries, count
):
    selected = _busy_desk(count, agent_alice, team_cards)
    client.force_login(agent_alice)

    with django_assert_max_num_queries(INBOX_PAGE_MAX_QUERIES):
        response = client.get(f"{INBOX}{selected.pk}/")

    assert response.status_code == 200
    assert len(response.context["sections"].all) == count
    assert len(response.context["agents"]) == count + 1
    assert len(response.context["canned_replies"]) == count


# --- The page script, against a stand-in socket ---------------------------------------------------------

# Replaces window.WebSocket before inbox.js runs: records what the page sends, lets the scenario push frames.
FAKE_SOCKET_JS = """
window.__sent = []; window.__sockets = [];
class FakeWebSocket {
  constructor(url) {
    this.url = url; this.readyState = 0; this.listeners = {}; window.__sockets.push(this);
    setTimeout(() => { this.readyState = 1; this.emit("open", {}); }, 10);
  }
  addEventListener(type, fn) { (this.listeners[type] = this.listeners[type] || []).push(fn); }
  emit(type, event) { (this.listeners[type] || []).forEach((fn) => fn(event)); }
  send(data) { window.__sent.push(JSON.parse(data)); }
  close(code) { this.readyState = 3; this.emit("close", {code: code || 1000}); }
}
FakeWebSocket.OPEN = 1;
window.WebSocket = FakeWebSocket;
"""

# The server's side of one session, frame by frame; what the page did is written into <pre id="result">.
SCENARIO_JS = """
(function () {
  const C = __CONVERSATION__;
  const results = {};
  const socket = () => window.__sockets[window.__sockets.length - 1];
  const push = (frame) => socket().emit("message", {data: JSON.stringify(frame)});
  const sent = (type) => window.__sent.filter((frame) => frame.type === type);
  const now = new Date().toISOString();
  const message = (seq, role, text) => (
    {seq, role, text, created_at: now, author_name: role === "customer" ? "" : "Bob"});
  const reply = document.getElementById("inbox-reply");
  const key = (init) => reply.dispatchEvent(new KeyboardEvent("keydown", {bubbles: true, cancelable: true, ...init}));
  setTimeout(() => {
    results.first = window.__sent.slice();
    push({type: "resume.done", conversation: C, last_seq: 2});
    push({type: "message.new", conversation: C, message: message(3, "customer", "<img src=x onerror=alert(1)>")});
    push({type: "message.new", conversation: C, message: message(3, "customer", "<img src=x onerror=alert(1)>")});
    push({type: "message.new", conversation: C, message: message(5, "agent", "from Bob")});
    results.afterGap = window.__sent.slice(-1)[0];
    push({type: "message.new", conversation: C, message: message(4, "note", "a note by Bob")});
    push({type: "resume.done", conversation: C, last_seq: 5});
    reply.value = "line one";
    key({key: "Enter", shiftKey: true});
    results.sendsAfterShiftEnter = sent("message.send").length;
    for (let i = 0; i < 3; i += 1) reply.dispatchEvent(new Event("input"));
    results.typingFrames = sent("typing").length;
    reply.value = "Hello there";
    key({key: "Enter"});
    results.sends = sent("message.send");
    results.replyAfterSend = reply.value;
    results.pending = document.querySelectorAll("#inbox-transcript .is-pending").length;
    push({type: "message.ack", conversation: C, client_id: results.sends[0].client_id, seq: 6});
    push({type: "message.new", conversation: C, message: message(6, "agent", "Hello there")});
    push({type: "conversation.updated", conversation: {
      id: 999999, url: "javascript:alert(1)", customer: {id: 9, name: "<b>Newbie</b>", email: ""}, state: "waiting",
      team: null, assignee: null, last_seq: 2, last_message_at: now, waiting_since: now, preview: "help"}});
    push({type: "sla.breach", breach: {id: 1, ticket: 7, kind: "first_response", due_at: now, conversation: 999999,
      team: null, assignee: null, subject: "<i>late</i>"}});
    push({type: "typing", conversation: C, role: "customer"});
    results.typing = document.getElementById("inbox-typing").textContent;
    document.getElementById("inbox-resolve").click();
    results.resolve = window.__sent.slice(-1)[0];
    socket().close(1006);
    const banner = document.getElementById("inbox-connection");
    results.bannerWhileDown = banner.hidden ? null : banner.textContent;
    results.sendDisabledWhileDown = document.getElementById("inbox-send").disabled;
  }, 100);
  setTimeout(() => {
    results.sockets = window.__sockets.length;
    results.last = window.__sent.slice(-1)[0];
    results.bannerHiddenAgain = document.getElementById("inbox-connection").hidden;
    const pre = document.createElement("pre");
    pre.id = "result";
    pre.textContent = JSON.stringify(results);
    document.body.append(pre);
  }, 4000);
})();
"""


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _run_in_chromium(page_html: str, tmp_path) -> str:
    page = tmp_path / "inbox.html"
    page.write_text(page_html)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    completed = subprocess.run(
        [CHROMIUM, *flags, "--virtual-time-budget=8000", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return completed.stdout


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")
def test_the_page_script_follows_the_protocol(client, agent_alice, conversation, tmp_path):
    message_post(conversation=conversation, role=Message.Role.CUSTOMER, text="hi")
    message_post(conversation=conversation, role=Message.Role.NOTE, text="a note", author=agent_alice)
    html = _page(client, agent_alice, f"{INBOX}{conversation.pk}/").content.decode()
    script_tag = '<script src="/static/inbox/inbox.js" defer></script>'
    assert script_tag in html
    scenario = SCENARIO_JS.replace("__CONVERSATION__", str(conversation.pk))
    inbox_js = (settings.BASE_DIR / "static" / "inbox" / "inbox.js").as_uri()
    html = html.replace(
        script_tag, f'<script>{FAKE_SOCKET_JS}</script><script src="{inbox_js}"></script><script>{scenario}</script>'
    )

    dom = _run_in_chromium(html, tmp_path)

    results = json.loads(unescape(re.search(r'<pre id="result">(.*?)</pre>', dom, re.S).group(1)))
    opened = {"type": "resume", "conversation": conversation.pk}
    assert results["first"] == [{**opened, "after_seq": 2}]
    assert results["afterGap"] == {**opened, "after_seq": 3}
    assert results["sendsAfterShiftEnter"] == 0
    assert results["typingFrames"] == 1
    [sent] = results["sends"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", sent.pop("client_id"))
    assert sent == {"type": "message.send", "conversation": conversation.pk, "text": "Hello there", "note": False}
    assert results["replyAfterSend"] == ""
    assert results["pending"] == 1
    assert results["typing"] == "Carl Customer is typing…"
    assert results["resolve"] == {"type": "conversation.resolve", "conversation": conversation.pk}
    assert results["bannerWhileDown"] == "Reconnecting…"
    assert results["sendDisabledWhileDown"] is True
    assert results["sockets"] == 2
    assert results["last"] == {**opened, "after_seq": 6}
    assert results["bannerHiddenAgain"] is True
    transcript = dom.split('id="inbox-transcript"', 1)[1].split("</ol>", 1)[0]
    assert re.findall(r'data-seq="(\d+)"', transcript) == ["1", "2", "3", "4", "5", "6"]
    assert "is-pending" not in transcript
    assert "<img" not in transcript
    assert "&lt;img src=x onerror=alert(1)&gt;" in transcript
    assert transcript.count("Note — not sent to the customer") == 2
    waiting = dom.split('id="inbox-list-waiting"', 1)[1].split("</ul>", 1)[0]
    assert 'data-conversation="999999"' in waiting
    assert 'href="/inbox/999999/"' in waiting
    assert "&lt;b&gt;Newbie&lt;/b&gt;" in waiting
    assert 'data-unread="2"' in waiting
    assert '<span class="inbox-item__risk inbox-item__sla">SLA: first response overdue</span>' in waiting
    assert "Ticket #7 &lt;i&gt;late&lt;/i&gt;: SLA: first response overdue" in dom  # announced, as text


@pytest.mark.parametrize(
    ("user_fixture", "shown", "hidden"),
    [
        ("manager_maria", ["/reports/", "/admin/floor/"], ["/reports/me/", "/admin/oversight/conversationreview/"]),
        (
            "agent_alice",
            ["/reports/me/", "/admin/oversight/conversationreview/"],
            ['href="/reports/"', "/admin/floor/"],
        ),
    ],
)
def test_the_header_links_to_the_reports_and_oversight_pages_the_role_may_open(
    client, request, user_fixture, shown, hidden
):
    client.force_login(request.getfixturevalue(user_fixture))

    html = client.get(INBOX).content.decode()

    assert [f'href="{path}"' in html for path in shown] == [True] * len(shown)
    assert [path in html for path in hidden] == [False] * len(hidden)
