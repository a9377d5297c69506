"""``make bench-floor``: the team lead's floor (apps/oversight/floor.py) on a big desk.

Generates a desk with a seeded RNG and bulk inserts (bench/floor_data.py): 5 teams, 200 agents, ``--live``
open conversations and ``--closed`` closed ones with their messages, open tickets. Then times
``floor_snapshot()`` ``--runs`` times (wall time and query count, median and p95), the size of one snapshot
as the socket sends it, where its time goes (each query's database time, re-run alone, against the Python
around it), and the floor socket's refresh: a FloorConsumer on ``helpdesk.asgi.application`` through
channels' WebsocketCommunicator, logged in as a manager, rung by an inbox-group event; the time to the next
``floor.snapshot`` frame minus the consumer's 1 s debounce.

Its own database: SQLite in var/bench-floor/ (kept between runs; the desk is generated again when its sizes
differ from the options, or with ``--regenerate``), or, when DATABASE_URL is set, a PostgreSQL database named
after it with ``_bench_floor`` appended (created when missing). A kept desk is moved to the present before
measuring: its live rows' times shift by the time since it was generated.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from datetime import datetime, timedelta

from bench.scratch import ScratchDatabase

SCRATCH = ScratchDatabase("floor")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["HELPDESK_MESSAGE_HOOK_TASK"] = ""  # nothing here posts messages through the services
# The socket's origin check admits the desk's own hosts: 127.0.0.1 is one of them with DEBUG's defaults.
os.environ["DEBUG"] = "1"
os.environ.pop("ALLOWED_HOSTS", None)
os.environ.pop("REDIS_URL", None)  # the in-memory channel layer: the socket and the bench share one process
SCRATCH.ensure(drop="--regenerate" in sys.argv[1:])

import django  # noqa: E402

django.setup()

from channels.db import database_sync_to_async  # noqa: E402
from channels.testing import WebsocketCommunicator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.db.models import F  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.accounts.models import AgentProfile, Team  # noqa: E402
from apps.conversations.events import INBOX_GROUP, send_rollback_unsafe  # noqa: E402
from apps.conversations.models import Conversation, Message  # noqa: E402
from apps.oversight import floor  # noqa: E402
from apps.oversight.consumers import FloorConsumer  # noqa: E402
from apps.tickets.models import Ticket  # noqa: E402
from bench.floor_data import MANAGER, generate  # noqa: E402
from helpdesk.asgi import application  # noqa: E402

TARGET_MS = 200  # well inside the socket's 1 s debounce, with room for several floor sockets per process
ORIGIN = (b"origin", b"http://127.0.0.1")
TIMEOUT = 120


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def desk_ready(args: argparse.Namespace) -> float | None:
    """Migrate; generate the desk unless the database holds one of the asked sizes. Returns the seconds the
    generation took, or None when the desk was kept."""
    call_command("migrate", verbosity=0)
    kept = get_user_model().objects.filter(username=MANAGER).exists()
    live = Conversation.objects.filter(state__in=Conversation.OPEN_STATES).count()
    closed = Conversation.objects.filter(state=Conversation.State.CLOSED).count()
    if kept and (live, closed) == (args.live, args.closed):
        return None
    # A generation cut short leaves teams and agents behind: anything but an empty database starts again.
    if kept or live or closed or Team.objects.filter(slug__startswith="floor-").exists():
        print(f"the database holds another desk ({live:,} live, {closed:,} closed): generating it again")
        connection.close()
        SCRATCH.ensure(drop=True)
        call_command("migrate", verbosity=0)
    started = time.perf_counter()
    generate(live=args.live, closed=args.closed, seed=args.seed)
    return time.perf_counter() - started


def statistics_refresh() -> None:
    """PostgreSQL: ANALYZE, as autovacuum does on a running server after bulk inserts. Without statistics (a
    server with autovacuum off, or the first minute after a restore) the at-risk query's plan ANDs a bitmap of
    every customer message into each of its four subqueries per live conversation: minutes, not milliseconds.
    SQLite has no autovacuum and Django never runs ANALYZE there, so its desk is measured as it is."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def desk_clock_move(now: datetime) -> timedelta:
    """Shift the live rows' times by the time since the desk was generated (the manager's date_joined): waits,
    SLA targets and presence read as they did then."""
    manager = get_user_model().objects.get(username=MANAGER)
    delta = now - manager.date_joined
    shifted = ("created_at", "updated_at", "last_message_at", "handoff_requested_at", "first_agent_response_at")
    live = Conversation.objects.filter(state__in=Conversation.OPEN_STATES)
    live.update(**{name: F(name) + delta for name in shifted})
    due = ("first_response_due_at", "resolution_due_at", "first_response_at")
    Ticket.objects.filter(status__in=Ticket.OPEN_STATUSES).update(**{name: F(name) + delta for name in due})
    AgentProfile.objects.update(presence_changed_at=F("presence_changed_at") + delta)
    get_user_model().objects.filter(pk=manager.pk).update(date_joined=now)
    return delta


def snapshots_timed(runs: int) -> tuple[list[float], list[int], dict]:
    """``runs`` snapshots after a warm-up: wall times (ms), query counts and the last snapshot."""
    floor.floor_snapshot()
    times, counts = [], []
    for _ in range(runs):
        reset_queries()  # DEBUG keeps the last 9,000 queries only: a full log would count none
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            snapshot = floor.floor_snapshot()
            times.append((time.perf_counter() - started) * 1000)
        counts.append(len(captured))
    return times, counts, snapshot


def parts_timed(repeats: int) -> list[tuple[str, float]]:
    """The three parts of a snapshot timed alone (median ms): what floor_snapshot calls, in its order."""
    now = timezone.now()
    rule = floor.RiskRule(sla_warning=timedelta(minutes=settings.HELPDESK_FLOOR_SLA_WARNING_MINUTES))
    parts = [
        ("agents (profiles, their live chats, open tickets)", floor._agents),
        ("queues (waiting per team, agents online)", lambda: floor._queues(now)),
        ("at risk (candidates read, reasons in Python)", lambda: floor._at_risk(now, rule, floor.AT_RISK_LIMIT)),
    ]
    timed = []
    for label, part in parts:
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            part()
            samples.append((time.perf_counter() - started) * 1000)
        timed.append((label, statistics.median(samples)))
    return timed


def queries_timed(repeats: int) -> list[tuple[str, int, float]]:
    """Each query of one snapshot re-run alone with a raw cursor, all rows fetched: (its start, rows, median
    ms). What is left of the snapshot's time is Python: building models and rows, reverse(), sorting."""
    statements: list[tuple[str, tuple]] = []

    def record(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        floor.floor_snapshot()
    timed = []
    for sql, params in statements:
        samples, rows = [], 0
        for _ in range(repeats):
            with connection.cursor() as cursor:
                started = time.perf_counter()
                cursor.execute(sql, params)
                rows = len(cursor.fetchall())
                samples.append((time.perf_counter() - started) * 1000)
        timed.append((query_label(sql), rows, statistics.median(samples)))
    return timed


def query_label(sql: str) -> str:
    """``FROM <table>`` of the outer query (subqueries in the SELECT list skipped) and how many subqueries."""
    depth, outer = 0, []
    for char in sql:
        depth += (char == "(") - (char == ")")
        outer.append(char if depth == 0 else " ")
    tail = "".join(outer).split(" FROM ", 1)
    table = tail[1].split()[0].strip('"') if len(tail) == 2 else "?"
    subqueries = sql.count("SELECT") - 1
    return f"FROM {table}" + (f" + {subqueries} subqueries" if subqueries else "")


async def socket_refreshes(runs: int) -> tuple[list[float], float]:
    """A manager's floor socket rung ``runs`` times: ms from the doorbell to the next floor.snapshot frame, minus
    REFRESH_DELAY; and the ms from connect to the first frame."""
    # The 30 s tick would land in the middle of the runs and queue a refresh of its own.
    FloorConsumer.PERIODIC_REFRESH = 3600.0
    cookie = await database_sync_to_async(session_cookie)()
    socket = WebsocketCommunicator(application, "/ws/floor/", headers=[ORIGIN, (b"cookie", cookie)])
    started = time.perf_counter()
    connected, _ = await socket.connect(timeout=TIMEOUT)
    if not connected:
        raise RuntimeError("the floor socket refused the bench's manager")
    first = await socket.receive_json_from(timeout=TIMEOUT)
    connect_ms = (time.perf_counter() - started) * 1000
    assert first["type"] == "floor.snapshot", first
    refreshes = []
    for _ in range(runs):
        started = time.perf_counter()
        await database_sync_to_async(send_rollback_unsafe)(INBOX_GROUP, {"type": "chat.presence", "agent": {}})
        frame = await socket.receive_json_from(timeout=TIMEOUT)
        refreshes.append((time.perf_counter() - started - FloorConsumer.REFRESH_DELAY) * 1000)
        assert frame["type"] == "floor.snapshot", frame
    await socket.disconnect()
    return refreshes, connect_ms


def json_kb(value) -> float:
    return len(json.dumps(value).encode()) / 1024


REASON_LABELS = (
    ("SLA breached", "SLA breached"),
    ("SLA due soon", "SLA due in"),
    ("predicted low", "Predicted satisfaction "),
    ("falling", "falling"),
    ("escalate", "escalate"),
    ("negative sentiment", "Negative sentiment"),
)


def reasons_counted(rows: list[dict]) -> list[tuple[str, int]]:
    """How many at-risk rows give each kind of reason (read from the reasons' text; "falling" is checked
    before "predicted low", whose text it starts with)."""
    counted = dict.fromkeys([label for label, _ in REASON_LABELS], 0)
    for row in rows:
        for label in {kind(reason) for reason in row["reasons"]}:
            counted[label] += 1
    return list(counted.items())


def kind(reason: str) -> str:
    if "falling" in reason:
        return "falling"
    return next(label for label, marker in REASON_LABELS if marker in reason)


def session_cookie() -> bytes:
    client = Client()
    client.force_login(get_user_model().objects.get(username=MANAGER))
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def run(args: argparse.Namespace) -> int:
    overall = time.perf_counter()
    generated_s = desk_ready(args)
    shifted = desk_clock_move(timezone.now())
    statistics_refresh()
    desk = {
        "live": Conversation.objects.filter(state__in=Conversation.OPEN_STATES).count(),
        "closed": Conversation.objects.filter(state=Conversation.State.CLOSED).count(),
        "messages": Message.objects.count(),
        "agents": AgentProfile.objects.count(),
        "open tickets": Ticket.objects.filter(status__in=Ticket.OPEN_STATUSES).count(),
    }
    measuring = time.perf_counter()
    times, counts, snapshot = snapshots_timed(args.runs)
    size_kb = len(json.dumps(snapshot).encode()) / 1024
    parts = parts_timed(max(3, args.runs // 4))
    queries = queries_timed(max(3, args.runs // 4))
    refreshes, connect_ms = asyncio.run(socket_refreshes(args.runs)) if not args.no_socket else ([], None)
    measured_s = time.perf_counter() - measuring

    totals = snapshot["totals"]
    agents_with_chats = sum(1 for a in snapshot["agents"] if a["open_conversations"])
    print(
        f"\n{desk['live']:,} live and {desk['closed']:,} closed conversations, {desk['messages']:,} messages, "
        f"{desk['agents']} agents, {desk['open tickets']:,} open tickets; database {connection.vendor}"
    )
    if generated_s is None:
        print(f"desk kept from an earlier run, its live rows moved {shifted.total_seconds():,.0f} s to now")
    print(f"median and p95 of {args.runs} runs after a warm-up\n")
    print("| figure | published anchor | ours |")
    print("| --- | --- | --- |")
    print(
        f"| the desk | — | {desk['live']:,} live ({totals['waiting']:,} waiting, {totals['with_agents']:,} with "
        f"agents) / {desk['closed']:,} closed conversations, {desk['messages']:,} messages, {desk['agents']} agents "
        f"({totals['online']} online), {desk['open tickets']:,} open tickets |"
    )
    if generated_s is not None:
        print(f"| generating it (bulk inserts) | — | {generated_s:.0f} s |")
    print(
        f"| snapshot wall time, median / p95 | — (target < {TARGET_MS} ms, well under the socket's 1 s debounce) "
        f"| {statistics.median(times):.0f} ms / {percentile(times, 0.95):.0f} ms |"
    )
    print(f"| queries per snapshot | 8 (floor.py, pinned in tests) | {statistics.median(counts):.0f} |")
    print(
        f"| one snapshot as JSON | — | {size_kb:,.0f} KB: agents {json_kb(snapshot['agents']):,.0f} KB "
        f"({len(snapshot['agents'])} rows, {agents_with_chats} with chats, {totals['with_agents']:,} chat links), "
        f"at risk {json_kb(snapshot['at_risk']):,.0f} KB ({len(snapshot['at_risk']):,} rows) |"
    )
    reasons = ", ".join(f"{label} {n:,}" for label, n in reasons_counted(snapshot["at_risk"]))
    print(f"| at-risk rows by reason (a row may have several) | — | {reasons} |")
    for label, ms in parts:
        print(f"| part: {label}, median | — | {ms:.0f} ms |")
    for n, (label, rows, ms) in enumerate(queries, start=1):
        print(f"| query {n}: {label}, database alone | — | {ms:.1f} ms ({rows:,} rows) |")
    database_ms = sum(ms for _, _, ms in queries)
    print(
        f"| the queries' database time vs the rest (Python) | — | {database_ms:.0f} ms vs "
        f"{max(0.0, statistics.median(times) - database_ms):.0f} ms |"
    )
    if refreshes:
        print(f"| socket: connect → first snapshot | — | {connect_ms:.0f} ms |")
        print(
            f"| socket: doorbell → next snapshot frame, minus the 1 s debounce, median / p95 | — | "
            f"{statistics.median(refreshes):.0f} ms / {percentile(refreshes, 0.95):.0f} ms |"
        )
    print(
        f"\nmeasuring took {measured_s:.0f} s; the whole run {time.perf_counter() - overall:.0f} s "
        f"(1-minute load average at the end: {os.getloadavg()[0]:.1f})"
    )
    if statistics.median(times) >= TARGET_MS:
        print(f"the snapshot's median is over the {TARGET_MS} ms target")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--live", type=int, default=5000, help="open conversations (default %(default)s)")
    parser.add_argument("--closed", type=int, default=100_000, help="closed conversations (default %(default)s)")
    parser.add_argument("--runs", type=int, default=20, help="timed snapshots and socket refreshes (median, p95)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-socket", action="store_true", help="skip the floor socket's refresh")
    parser.add_argument("--regenerate", action="store_true", help="start again from an empty database")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
