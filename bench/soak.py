"""``make bench-soak``: widget clients chatting with the bot for minutes while the desk is hurt on purpose.

On bench.chat's stack (a fresh PostgreSQL database, Redis db 15, Daphne processes, a Celery worker) plus Celery
beat and a tiny intent model, ``--clients`` widget clients send paced messages for ``--minutes``. In the middle
the worker is killed with SIGKILL (its process group, as when its machine dies) and a new one started, and the
Redis server is restarted without saving (every queued task, unacknowledged delivery and group membership
gone). Clients behave like static/widget: they reconnect with backoff, resume by seq, and send what is not yet
acknowledged again with the same client_id. At the end each conversation is replayed on a fresh socket and
checked against the database; a Markdown table is printed and the exit status is 1 when anything was lost or
duplicated. bench/README.md explains every figure.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from bench.chat import (
    BIN,
    FRAME_TIMEOUT,
    ROOT,
    STARTUP_TIMEOUT,
    Stack,
    django_setup,
    http_post_json,
    percentiles,
    socket_connect,
    text_client_id,
)

LOG_DIR = ROOT / "var" / "bench-soak"
HOOK = "apps.assistant.tasks.analyse_message"
# What the customers say (the tiny model's own examples, so some are answered and some asked about); the
# message's client_id ends its text, so a replay without client_ids still tells which message is which.
QUESTIONS = (
    "where is my new card",
    "when will my card arrive",
    "my card has not arrived yet",
    "my transfer is pending",
    "when will my transfer arrive",
    "money transfer not arrived",
)
ARTICLE_BODY = "## Delivery\n\nMy card has not arrived yet? New cards arrive within five working days."
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 10.0  # seconds, as the widget's reconnect (which caps at 30 s)
RELOAD_CONCURRENCY = 20


# --- The stack, hurt on purpose ----------------------------------------------------------------------------


class SoakStack(Stack):
    """bench.chat's stack plus Celery beat (the sweep of lost analyses), and the means to hurt it."""

    log_dir = LOG_DIR

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.worker, self.workers_started = "celery", 1
        self.events: list[str] = []

    def start(self) -> None:
        for old_log in self.log_dir.glob("celery*.log"):
            old_log.unlink()
        super().start()
        self._spawn("beat", [str(BIN / "celery"), "-A", "helpdesk", "beat", "-l", "INFO"])

    def worker_kill(self) -> None:
        """SIGKILL the worker's whole process group: no shutdown, no ack, its delivery stays unacknowledged."""
        process = self.processes.pop(self.worker)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def worker_replace(self) -> None:
        self.workers_started += 1
        self.worker = f"celery-{self.workers_started}"
        self.worker_spawn(self.worker)
        self.worker_wait(self.worker, time.monotonic() + STARTUP_TIMEOUT)

    def worker_logs(self) -> str:
        return "".join(path.read_text(errors="replace") for path in sorted(self.log_dir.glob("celery*.log")))


def redis_restart(url: str, down_seconds: float) -> None:
    """Shut the server at ``url`` down without saving and start it again on the same port and address."""
    address = urlsplit(url)
    # No retry: redis-py 8 would retry the SHUTDOWN it just lost the connection to for seconds.
    client = redis.Redis(
        host=address.hostname, port=address.port or 6379, socket_timeout=5, retry=Retry(NoBackoff(), 0)
    )
    config = {**client.config_get("bind"), **client.config_get("dir")}
    command = ["redis-server", "--daemonize", "yes", "--port", str(address.port or 6379)]
    command += ["--bind", *config["bind"].split(), "--save", "", "--appendonly", "no", "--dir", config["dir"]]
    with contextlib.suppress(redis.ConnectionError):  # the server closes the connection as it goes
        client.shutdown(nosave=True)
    try:
        time.sleep(down_seconds)
    finally:
        subprocess.run(command, check=True, capture_output=True, timeout=30)
    if not _redis_answers(client, within=30):
        raise RuntimeError(f"Redis did not come back: {' '.join(command)}")


def _redis_answers(client: redis.Redis, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(redis.RedisError):
            if client.ping():
                return True
        time.sleep(0.05)
    return False


def redis_restart_refusal(url: str) -> str:
    """Why the server at ``url`` must not be restarted by a bench ("" when it may)."""
    address = urlsplit(url)
    try:
        client = redis.Redis(host=address.hostname, port=address.port or 6379, socket_timeout=5)
        config = {**client.config_get("save"), **client.config_get("appendonly")}
    except redis.RedisError as exc:
        return f"Redis at {url} does not answer: {exc}"
    if config["save"] or config["appendonly"] != "no":
        return f"Redis at {url} keeps data on disk (save/appendonly); the soak would throw it away"
    return ""


# --- The desk's side (Django in this process, once the stack's database is migrated) -----------------------


def desk_prepare(env: dict[str, str]) -> None:
    """A tiny intent model as champion, trained here on the tests' tiny random BERT, and one help article.
    Imported late: Django needs the bench's database first."""
    from apps.assistant.selectors import policy_config
    from apps.assistant.training import model_version_train
    from apps.knowledge.services import article_save
    from tests.assistant.conftest import tiny_encoder_folder
    from tests.assistant.registry_helpers import intent_examples_store

    tiny_encoder_folder(Path(env["HELPDESK_ENCODER_PATH"]))
    intent_examples_store()
    model_version_train(fast=True, actor=None)
    # The tiny random model reads nearly everything as out of scope; asked to rephrase again and again rather
    # than handed over after two, nearly every customer message is owed exactly one bot reply.
    config = policy_config()
    config.max_out_of_scope = 1000
    config.save()
    article_save(
        title="Where is my new card?", slug="where-is-my-new-card", body=ARTICLE_BODY, intents=["card_arrival"]
    )


def analysis_pending(conversation_ids: list[int]) -> int:
    """Customer messages of these conversations that no run has analysed (nor given up on) yet."""
    from apps.conversations.models import Message

    return (
        Message.objects.filter(conversation_id__in=conversation_ids, role=Message.Role.CUSTOMER)
        .exclude(annotations__has_key="analysed_at")
        .exclude(annotations__has_key="analysis_error")
        .count()
    )


def database_check(conversation_ids: list[int], acked: dict[str, tuple[int, int]]) -> dict[str, Any]:
    """The run's messages as stored: customer messages against the acks, bot replies per customer message."""
    from apps.conversations.models import Message

    rows = Message.objects.filter(conversation_id__in=conversation_ids)
    customer = list(
        rows.filter(role=Message.Role.CUSTOMER).values_list(
            "conversation_id", "seq", "client_id", "annotations", "decision"
        )
    )
    bot = list(rows.filter(role=Message.Role.BOT).values_list("conversation_id", "annotations"))
    stored_ids = Counter(str(client_id) for _, _, client_id, _, _ in customer)
    seq_of = {str(client_id): (conversation, seq) for conversation, seq, client_id, _, _ in customer}
    replies = Counter((conversation, (notes or {}).get("in_reply_to")) for conversation, notes in bot)
    per_message = [replies[(conversation, seq)] for conversation, seq, *_ in customer]
    owed = [replies[(c, seq)] for c, seq, _, _, decision in customer if decision in ("answer", "clarify")]
    decisions = Counter((notes or {}).get("decision", "") for _, notes in bot)
    return {
        "stored": len(customer),
        "db_duplicated": sum(n - 1 for n in stored_ids.values() if n > 1),
        "db_lost": sum(1 for client_id, place in acked.items() if seq_of.get(client_id) != place),
        "bot_stored": len(bot),
        "bot_answers": decisions["answer"],
        "bot_questions": decisions["clarify"],
        "replies_0": per_message.count(0),
        "replies_1": per_message.count(1),
        "replies_many": sum(1 for n in per_message if n > 1),
        "replies_missing": owed.count(0),
        "bot_duplicated": sum(n - 1 for n in per_message if n > 1),
        "never_analysed": sum(
            1 for *_, notes, _ in customer if not {"analysed_at", "analysis_error"} & (notes or {}).keys()
        ),
        "handed_over": sum(1 for *_, notes, _ in customer if (notes or {}).get("analysis_error")),
    }


# --- The clients -------------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What every client saw, shared."""

    counts: Counter = field(default_factory=Counter)
    closes: Counter = field(default_factory=Counter)  # close code -> how often, for closes nobody asked for
    errors: Counter = field(default_factory=Counter)  # error frame code -> how often
    acked: dict[str, tuple[int, int]] = field(default_factory=dict)  # client_id -> (conversation, seq)
    ack_ms: list[float] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)

    def odd(self, kind: str, detail: Any) -> None:
        if len(self.samples) < 10:
            self.samples.append(f"{kind}: {detail}")


class SoakClient:
    """One customer's widget, as static/widget behaves: an outbox resent (same client_id) until acked, a
    reconnect with backoff after any close it did not ask for, a resume by seq after each connect and gap."""

    def __init__(self, port: int, tally: Tally, args: argparse.Namespace) -> None:
        self.port, self.tally, self.args = port, tally, args
        self.conversation, self.token = 0, ""
        self.socket: ClientConnection | None = None
        self.outbox: dict[str, str] = {}  # client_id -> text, until acked
        self.sent_at: dict[str, float] = {}  # client_id -> first send
        self.sent_on_socket: set[str] = set()
        self.rendered: set[int] = set()
        self.own_seen: set[str] = set()
        self.bot_seen: set[int] = set()
        self.resume_seq = self.last_seq = 0
        self.resuming = self.ready = self.gap_open = self.closing = False
        self.reconnects = 0
        self.connection: asyncio.Task | None = None
        self.retries: set[asyncio.Task] = set()

    async def open(self, gate: asyncio.Semaphore) -> bool:
        async with gate:
            status, session = await http_post_json(self.port, "/api/widget/sessions/", {"name": "Soak Customer"})
            if status != 201:
                self.tally.odd(f"session HTTP {status}", session)
                return False
            self.conversation, self.token = session["conversation"], session["token"]
            return True

    async def chat(self, until: float) -> None:
        """Send paced messages until ``until`` (perf_counter); the socket stays up (and reconnects) until close."""
        self.connection = asyncio.create_task(self._stay_connected())
        await self._send_paced(until)

    async def close(self) -> None:
        """Hang up, and count what this client saw live."""
        self.closing = True
        if self.socket is not None:
            await self.socket.close()
        for task in [self.connection, *self.retries]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        counts = self.tally.counts
        counts["own_delivered"] += len(self.own_seen)
        counts["clients_reconnected"] += self.reconnects > 0
        counts["reconnects"] += self.reconnects

    async def _send_paced(self, until: float) -> None:
        next_at = time.perf_counter() + random.uniform(0, self.args.interval)
        while next_at < until:
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            client_id = str(uuid.uuid4())
            self.outbox[client_id] = f"{random.choice(QUESTIONS)} ref {client_id}"
            self.sent_at[client_id] = time.perf_counter()
            self.tally.counts["sent"] += 1
            if self.ready:
                await self._deliver(client_id)
            next_at += self.args.interval * random.uniform(1 - self.args.jitter, 1 + self.args.jitter)

    async def _deliver(self, client_id: str) -> None:
        if client_id in self.sent_on_socket or client_id not in self.outbox or self.socket is None:
            return
        self.sent_on_socket.add(client_id)
        self.tally.counts["send_frames"] += 1
        with contextlib.suppress(ConnectionClosed):  # still in the outbox: resent after the reconnect
            await self.socket.send(
                json.dumps({"type": "message.send", "client_id": client_id, "text": self.outbox[client_id]})
            )

    async def _stay_connected(self) -> None:
        attempt = 0
        while not self.closing:
            try:
                self.socket = await socket_connect(self.port, f"/ws/widget/?token={self.token}")
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                self.tally.closes[f"connect failed ({type(exc).__name__})"] += 1
            else:
                self.sent_on_socket.clear()
                self.ready = self.resuming = self.resumed_on_socket = False
                await self._request_resume()
                await self._read()
                attempt = 0 if self.resumed_on_socket else attempt  # a full round trip worked
            if self.closing:
                return
            self.reconnects += 1
            step = min(BACKOFF_MAX, BACKOFF_FIRST * 2**attempt)
            attempt += 1
            await asyncio.sleep(step * random.uniform(0.5, 1.0))

    async def _read(self) -> None:
        try:
            async for raw in self.socket:
                await self._on_frame(json.loads(raw), time.perf_counter())
        except ConnectionClosed:
            pass
        self.ready = False
        if not self.closing:
            self.tally.closes[str(self.socket.close_code)] += 1

    async def _on_frame(self, frame: dict[str, Any], now: float) -> None:
        kind = frame.get("type")
        if kind == "message.ack":
            self._on_ack(frame, now)
        elif kind == "message.new":
            await self._on_message(frame["message"])
        elif kind == "resume.done":
            await self._on_resume_done(frame)
        elif kind == "error":
            await self._on_error(frame)

    def _on_ack(self, frame: dict[str, Any], now: float) -> None:
        client_id = frame["client_id"]
        self.outbox.pop(client_id, None)
        if client_id in self.tally.acked:
            self.tally.counts["acks_of_a_resend"] += 1
            return
        self.tally.acked[client_id] = (self.conversation, frame["seq"])
        self.tally.ack_ms.append((now - self.sent_at[client_id]) * 1000)

    async def _on_message(self, message: dict[str, Any]) -> None:
        seq = message["seq"]
        if seq in self.rendered:
            return
        if seq > self.resume_seq + 1:
            if not self.gap_open:
                self.tally.counts["gaps_seen"] += 1
                self.gap_open = True
            await self._request_resume()
        self.rendered.add(seq)
        self.last_seq = max(self.last_seq, seq)
        while self.resume_seq + 1 in self.rendered:
            self.resume_seq += 1
        if message["role"] == "customer" and text_client_id(message["text"]) in self.sent_at:
            self.own_seen.add(text_client_id(message["text"]))
        elif message["role"] == "bot":
            self.bot_seen.add(seq)

    async def _request_resume(self) -> None:
        if not self.resuming:
            self.resuming = True
            self.tally.counts["resumes"] += 1
            with contextlib.suppress(ConnectionClosed):
                await self.socket.send(json.dumps({"type": "resume", "after_seq": self.resume_seq}))

    async def _on_resume_done(self, frame: dict[str, Any]) -> None:
        progressed = frame["last_seq"] > self.resume_seq
        self.resume_seq = max(self.resume_seq, frame["last_seq"])
        self.resuming = False
        if self.last_seq > self.resume_seq and progressed:
            await self._request_resume()
        elif self.gap_open and self.resume_seq >= self.last_seq:
            self.tally.counts["gaps_healed"] += 1
            self.gap_open = False
        if not self.ready:  # this socket's first replay is in: what is not acked goes (again)
            self.ready = self.resumed_on_socket = True
            for client_id in list(self.outbox):
                await self._deliver(client_id)

    async def _on_error(self, frame: dict[str, Any]) -> None:
        self.tally.errors[frame.get("code", "?")] += 1
        client_id = frame.get("client_id", "")
        if frame.get("retry") and client_id in self.outbox:  # unavailable: nothing stored, send it again later
            self.sent_on_socket.discard(client_id)
            retry = asyncio.create_task(self._deliver_later(client_id, float(frame.get("retry_after", 2))))
            self.retries.add(retry)
            retry.add_done_callback(self.retries.discard)
        else:
            self.tally.odd(f"error frame {frame.get('code')}", frame)
            self.outbox.pop(client_id, None)

    async def _deliver_later(self, client_id: str, seconds: float) -> None:
        await asyncio.sleep(seconds * random.uniform(0.5, 1.5))
        if self.ready:
            await self._deliver(client_id)

    async def reload(self, gate: asyncio.Semaphore) -> None:
        """A fresh socket replays the conversation from seq 0: every acked message and bot reply exactly once."""
        replay: list[dict[str, Any]] = []
        async with gate:
            try:
                async with socket_connect(self.port, f"/ws/widget/?token={self.token}") as reloaded:
                    await reloaded.send(json.dumps({"type": "resume", "after_seq": 0}))
                    async with asyncio.timeout(max(FRAME_TIMEOUT, self.args.clients * 0.1)):
                        async for raw in reloaded:
                            frame = json.loads(raw)
                            if frame["type"] == "resume.done":
                                break
                            replay += [frame["message"]] if frame["type"] == "message.new" else []
            except (TimeoutError, ConnectionClosed, OSError) as exc:
                self.tally.counts["reloads_failed"] += 1
                self.tally.odd("final reload", f"conversation {self.conversation}: {exc!r}")
                return
        counts = self.tally.counts
        replayed = Counter(text_client_id(m["text"]) for m in replay if m["role"] == "customer")
        for client_id in (client_id for client_id in self.sent_at if client_id in self.tally.acked):
            counts["lost"] += replayed[client_id] == 0
            counts["duplicated"] += max(0, replayed[client_id] - 1)
        counts["replay_seq_gaps"] += [m["seq"] for m in replay] != list(range(1, len(replay) + 1))
        bot_seqs = {m["seq"] for m in replay if m["role"] == "bot"}
        counts["bot_replayed"] += len(bot_seqs)
        counts["bot_delivered"] += len(self.bot_seen & bot_seqs)


# --- One soak ----------------------------------------------------------------------------------------------


async def hurt(args: argparse.Namespace, stack: SoakStack, started: float) -> None:
    """Kill the worker, then restart Redis, at their points of the load."""
    duration = args.minutes * 60
    plan = sorted([(args.kill_at, "worker"), (args.restart_at, "redis")])
    for fraction, what in plan:
        await asyncio.sleep(max(0.0, started + fraction * duration - time.perf_counter()))
        at = time.perf_counter() - started
        if what == "worker":
            await asyncio.to_thread(stack.worker_kill)
            stack.events.append(f"worker killed (SIGKILL) at {at:.0f} s")
            await asyncio.sleep(args.worker_down)
            await asyncio.to_thread(stack.worker_replace)
            stack.events.append(f"new worker ready at {time.perf_counter() - started:.0f} s")
        else:
            await asyncio.to_thread(redis_restart, args.redis, args.redis_down)
            stack.events.append(f"Redis restarted at {at:.0f} s, down {time.perf_counter() - started - at:.1f} s")


async def settle(clients: list[SoakClient], conversations: list[int], drain: float) -> int:
    """Wait until every message is acked and analysed, as long as something still moves; the sweep of lost
    analyses runs every 30 s. Returns the customer messages still unanalysed."""
    last, quiet_since = None, time.perf_counter()
    while True:
        unacked = sum(len(client.outbox) for client in clients)
        pending = await asyncio.to_thread(analysis_pending, conversations)
        if unacked == 0 and pending == 0:
            return 0
        if (unacked, pending) != last:
            last, quiet_since = (unacked, pending), time.perf_counter()
        elif time.perf_counter() - quiet_since > drain:
            return pending
        await asyncio.sleep(2)


async def soak(args: argparse.Namespace, stack: SoakStack) -> dict[str, Any]:
    tally = Tally()
    clients = [SoakClient(stack.ports[i % len(stack.ports)], tally, args) for i in range(args.clients)]
    gate = asyncio.Semaphore(args.connect_concurrency)
    opened = await asyncio.gather(*(client.open(gate) for client in clients), return_exceptions=True)
    ready = [client for client, outcome in zip(clients, opened, strict=True) if outcome is True]
    conversations = [client.conversation for client in ready]
    print(f"{len(ready)} sessions open; chatting for {args.minutes:g} min", flush=True)

    started = time.perf_counter()
    until = started + args.minutes * 60
    hurting = asyncio.create_task(hurt(args, stack, started))
    await asyncio.gather(*(client.chat(until) for client in ready))
    await hurting
    print(f"sending ended after {time.perf_counter() - started:.0f} s; {'; '.join(stack.events)}", flush=True)
    unanalysed_at_drain = await settle(ready, conversations, args.drain)
    for client in ready:
        await client.close()
    reload_gate = asyncio.Semaphore(RELOAD_CONCURRENCY)
    await asyncio.gather(*(client.reload(reload_gate) for client in ready))

    figures = {
        **{key: tally.counts[key] for key in COUNTED},
        "clients": len(ready),
        "acked": len(tally.acked),
        "unacked": sum(len(client.outbox) for client in ready),
        "unanalysed_at_drain": unanalysed_at_drain,
        "ack": percentiles(tally.ack_ms, (50, 95)),
        "closes": dict(tally.closes),
        "error_frames": dict(tally.errors),
        "events": list(stack.events),
        "wall": time.perf_counter() - started,
        "load": os.getloadavg()[0],
    }
    figures.update(await asyncio.to_thread(database_check, conversations, tally.acked))
    worker_log = stack.worker_logs()
    figures["sweeps"] = worker_log.count("customer messages again whose analysis task was lost")
    figures["swept"] = sum(
        int(line.split("queued ")[1].split()[0])
        for line in worker_log.splitlines()
        if "customer messages again whose analysis task was lost" in line
    )
    figures["daphne_errors"] = len(stack.daphne_log_errors())
    figures["samples"] = tally.samples + stack.daphne_log_errors()[:5]
    figures["lost_total"] = sum(
        figures[key] for key in ("lost", "db_lost", "unacked", "never_analysed", "replies_missing")
    )
    figures["duplicated_total"] = figures["duplicated"] + figures["db_duplicated"] + figures["bot_duplicated"]
    return figures


COUNTED = (
    "sent",
    "send_frames",
    "acks_of_a_resend",
    "lost",
    "duplicated",
    "own_delivered",
    "bot_delivered",
    "bot_replayed",
    "clients_reconnected",
    "reconnects",
    "resumes",
    "gaps_seen",
    "gaps_healed",
    "replay_seq_gaps",
    "reloads_failed",
)

# (label, how to read it from the figures)
ROWS: list[tuple[str, Any]] = [
    ("clients connected", lambda f: f["clients"]),
    ("messages sent (distinct client_ids)", lambda f: f["sent"]),
    ("message.send frames (with resends of the same client_id)", lambda f: f["send_frames"]),
    ("messages acked", lambda f: f["acked"]),
    ("customer messages stored", lambda f: f["stored"]),
    ("delivered live: own messages echoed / acked", lambda f: f"{f['own_delivered']:,} / {f['acked']:,}"),
    ("delivered live: bot replies / bot replies stored", lambda f: f"{f['bot_delivered']:,} / {f['bot_stored']:,}"),
    (
        "bot replies stored (answers / questions)",
        lambda f: f"{f['bot_stored']:,} ({f['bot_answers']:,} / {f['bot_questions']:,})",
    ),
    ("customer messages with 0 bot replies (handed over or with agents)", lambda f: f["replies_0"]),
    ("… of which answered or asked about by the bot's decision (a reply lost)", lambda f: f["replies_missing"]),
    ("customer messages with 1 bot reply", lambda f: f["replies_1"]),
    ("customer messages with >1 bot replies", lambda f: f["replies_many"]),
    ("customer messages never analysed", lambda f: f["never_analysed"]),
    ("customer messages handed over after the analysis failed for good", lambda f: f["handed_over"]),
    (
        "**lost** (acked but not replayed or not stored with its seq, never acked, never analysed, a reply owed)",
        lambda f: f["lost_total"],
    ),
    ("**duplicated** (a client_id twice, a second bot reply)", lambda f: f["duplicated_total"]),
    ("clients that reconnected / reconnects", lambda f: f"{f['clients_reconnected']:,} / {f['reconnects']:,}"),
    (
        "socket closes by code (not asked for)",
        lambda f: ", ".join(f"{k}: {v:,}" for k, v in f["closes"].items()) or "0",
    ),
    ("resumes sent (after a connect or a gap)", lambda f: f["resumes"]),
    ("gaps seen live / healed by resume", lambda f: f"{f['gaps_seen']:,} / {f['gaps_healed']:,}"),
    ("error frames by code", lambda f: ", ".join(f"{k}: {v:,}" for k, v in f["error_frames"].items()) or "0"),
    ("analyses queued again by the beat sweep (sweeps that found some)", lambda f: f"{f['swept']:,} ({f['sweeps']})"),
    ("ack latency p50 / p95 (ms, first send to ack)", lambda f: " / ".join(f"{v:,.0f}" for v in f["ack"])),
    (
        "reload replays whose seqs are not 1..last_seq / reloads failed",
        lambda f: f"{f['replay_seq_gaps']} / {f['reloads_failed']}",
    ),
    ("Daphne log: ERROR lines", lambda f: f["daphne_errors"]),
    ("faults (seconds into the load)", lambda f: "; ".join(f["events"])),
    ("load duration (s) / machine load average at the end", lambda f: f"{f['wall']:.0f} / {f['load']:.1f}"),
]


def table(figures: dict[str, Any]) -> str:
    def cell(value: Any) -> str:
        return f"{value:,}" if isinstance(value, int) else str(value)

    lines = ["| figure | value |", "| --- | --- |"]
    lines += [f"| {label} | {cell(read(figures))} |" for label, read in ROWS]
    return "\n".join(lines)


# --- Main --------------------------------------------------------------------------------------------------

HOW_TO = """bench.soak needs PostgreSQL and Redis on 127.0.0.1, named by DATABASE_URL and REDIS_URL, e.g.
  export DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_soak REDIS_URL=redis://127.0.0.1:6379/15
It uses their servers with its own database (--database, dropped and created) and Redis db (--redis-db,
flushed), and restarts the Redis server, which must keep nothing on disk (save "" and appendonly no)."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=500, help="widget clients (default 500)")
    parser.add_argument("--minutes", type=float, default=3.0, help="minutes of load (default 3)")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between a client's messages (30)")
    parser.add_argument("--jitter", type=float, default=0.3, help="each interval is ±this fraction (0.3)")
    parser.add_argument("--daphne", type=int, default=2, help="Daphne processes; clients spread over them (2)")
    parser.add_argument("--kill-at", type=float, default=0.4, help="kill the worker at this fraction of the load")
    parser.add_argument("--worker-down", type=float, default=2.0, help="seconds before the new worker starts (2)")
    parser.add_argument("--restart-at", type=float, default=0.6, help="restart Redis at this fraction of the load")
    parser.add_argument("--redis-down", type=float, default=2.0, help="seconds Redis stays down (2)")
    parser.add_argument("--drain", type=float, default=120.0, help="give up after this many quiet seconds (120)")
    parser.add_argument("--connect-concurrency", type=int, default=10, help="sessions opened at once (10)")
    parser.add_argument("--database", default="helpdesk_soak", help="dropped and created (helpdesk_soak)")
    parser.add_argument("--redis-db", type=int, default=15, help="Redis db flushed at the start (15)")
    parser.add_argument(
        "--server-env", action="append", default=[], metavar="NAME=VALUE", help="extra env for Daphne and Celery"
    )
    args = parser.parse_args(argv)
    if not (1 <= args.clients <= 5000 and 0.1 <= args.minutes <= 60 and 1 <= args.daphne <= 8):
        parser.error("bounded: 1-5,000 clients, 0.1-60 minutes, 1-8 Daphne processes")
    if not (0 < args.kill_at < 1 and 0 < args.restart_at < 1 and 0 <= args.jitter < 1 and args.interval > 0):
        parser.error("--kill-at and --restart-at are fractions of the load; jitter in [0, 1); a positive interval")
    database, broker = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    if not (database.startswith("postgres") and broker.startswith("redis")):
        parser.error(f"no PostgreSQL DATABASE_URL or no REDIS_URL.\n{HOW_TO}")
    if urlsplit(database).hostname != "127.0.0.1" or urlsplit(broker).hostname != "127.0.0.1":
        parser.error(f"the soak only talks to 127.0.0.1.\n{HOW_TO}")
    # What bench.chat's Stack reads. The servers come from the URLs; the database and the Redis db are the
    # soak's own, whatever the URLs name, since both are wiped.
    args.postgres = database.rsplit("/", 1)[0] + "/postgres"
    args.redis = f"redis://{urlsplit(broker).netloc}/{args.redis_db}"
    args.rate_limit = None
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if refusal := redis_restart_refusal(args.redis):
        print(f"bench.soak: {refusal}\n{HOW_TO}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally below tears the stack down
    models = LOG_DIR / "models"
    args.server_env = [
        f"HELPDESK_MESSAGE_HOOK_TASK={HOOK}",
        f"HELPDESK_ENCODER_PATH={models / 'tiny-bert'}",
        f"MODEL_STORE={models}",
        "HELPDESK_TORCH_THREADS=1",
        "HELPDESK_ANALYSIS_REQUEUE_AFTER=30",
        *args.server_env,
    ]
    config = (
        f"{args.clients} clients, a message every {args.interval:g} s ±{args.jitter:.0%} for {args.minutes:g} min, "
        f"{args.daphne} Daphne process(es); worker killed at {args.kill_at:.0%}, Redis restarted at "
        f"{args.restart_at:.0%} of the load"
    )
    print(config, flush=True)
    stack = SoakStack(args)
    figures: dict[str, Any] = {}
    failures: list[str] = []
    try:
        stack.start()
        os.environ.update(variable.split("=", 1) for variable in args.server_env)
        django_setup(stack.env)
        desk_prepare(stack.env)
        print(f"stack up: Daphne on {stack.ports}, logs in {LOG_DIR}", flush=True)
        bound = 120 + args.clients * 0.3 + args.minutes * 60 + 4 * args.drain
        figures = asyncio.run(asyncio.wait_for(soak(args, stack), bound))
        (LOG_DIR / "soak.json").write_text(json.dumps(figures, default=str, indent=1))
    except Exception as exc:  # any failure is reported, and the stack still comes down
        failures.append(f"{type(exc).__name__}: {exc}")
    finally:
        stack.stop()
    if figures:
        print(f"\n{config}\n\n{table(figures)}")
        for sample in figures["samples"]:
            print(f"  {sample}")
        if figures["lost_total"] or figures["duplicated_total"]:
            failures.append(f"lost {figures['lost_total']}, duplicated {figures['duplicated_total']}")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures or not figures else 0


if __name__ == "__main__":
    sys.exit(main())
