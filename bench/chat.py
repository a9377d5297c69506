"""``make bench-chat``: paced widget clients and one agent inbox against a real stack on loopback.

The bench starts its own stack (a fresh PostgreSQL database, Redis db 15 flushed, Daphne, one Celery worker),
drives ``--clients`` widget sockets that each send ``--messages`` paced messages, checks by seq that nothing
was lost or stored twice, and prints a table of figure | published anchor | ours (the median of ``--runs``).
It exits non-zero when the stack failed or any run lost, duplicated or refused a message. bench/README.md says
what each figure means and holds measured tables.
"""

import argparse
import asyncio
import contextlib
import importlib
import json
import math
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOG_DIR = ROOT / "var" / "bench-chat"
HOST = "127.0.0.1"
STARTUP_TIMEOUT = 90.0
FRAME_TIMEOUT = 30.0


# --- The stack ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def database_recreate(admin_url: str, name: str) -> str:
    """Drop and create the bench's database; returns its URL."""
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


class Stack:
    """Daphne processes and a Celery worker, each in its own process group so teardown reaches children."""

    log_dir = LOG_DIR

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.processes: dict[str, subprocess.Popen] = {}
        self.ports: list[int] = []
        self.env: dict[str, str] = {}

    def log(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def _spawn(self, name: str, command: list[str]) -> None:
        with self.log(name).open("w") as log:
            self.processes[name] = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
            "DATABASE_URL": database_recreate(self.args.postgres, self.args.database),
            "REDIS_URL": self.args.redis,
            "DEBUG": "1",
            "WIDGET_SESSION_RATE": "100000/minute",
            "HELPDESK_MESSAGE_HOOK_TASK": "",
        }
        if self.args.rate_limit:
            self.env["HELPDESK_WIDGET_RATE_LIMIT"] = str(self.args.rate_limit)
        self.env.update(variable.split("=", 1) for variable in self.args.server_env)
        redis.Redis.from_url(self.args.redis).flushdb()
        migrate = [str(BIN / "python"), "manage.py", "migrate", "--noinput"]
        with self.log("migrate").open("w") as log:
            subprocess.run(
                migrate, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, check=True, timeout=600
            )
        for index in range(self.args.daphne):
            port = free_port()
            self.ports.append(port)
            self._spawn(
                f"daphne-{index}", [str(BIN / "daphne"), "-b", HOST, "-p", str(port), "helpdesk.asgi:application"]
            )
        self.worker_spawn("celery")
        deadline = time.monotonic() + STARTUP_TIMEOUT
        for index, port in enumerate(self.ports):
            self._wait(f"daphne-{index}", deadline, lambda port=port: _http_ok(f"http://{HOST}:{port}/healthz"))
        self.worker_wait("celery", deadline)

    def worker_spawn(self, name: str) -> None:
        """A Celery worker for every queue, one pool process, logging to ``<name>.log`` (bench.soak starts more)."""
        queues = "default,inference,training"
        command = [str(BIN / "celery"), "-A", "helpdesk", "worker", "-Q", queues, "-c", "1", "-l", "INFO"]
        self._spawn(name, [*command, "-n", f"{name}@%h"])

    def worker_wait(self, name: str, deadline: float) -> None:
        self._wait(name, deadline, lambda: " ready." in self.log(name).read_text(errors="replace"))

    def _wait(self, name: str, deadline: float, answers: Any) -> None:
        while not answers():
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited with {self.processes[name].returncode}; see {self.log(name)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not answer within {STARTUP_TIMEOUT:g} s; see {self.log(name)}")
            time.sleep(0.25)

    def daphne_pids(self) -> list[int]:
        return [process.pid for name, process in self.processes.items() if name.startswith("daphne")]

    def daphne_log_errors(self) -> list[str]:
        """Every ERROR line the Daphne processes have logged so far."""
        lines = []
        for name in self.processes:
            if name.startswith("daphne"):
                text = self.log(name).read_text(errors="replace").splitlines()
                lines += [f"{name}: {line}" for line in text if " ERROR " in line]
        return lines

    def exited(self) -> list[str]:
        """What died on its own, e.g. a Daphne process in the middle of a run."""
        return [
            f"{name} exited with {process.returncode}"
            for name, process in self.processes.items()
            if process.poll() is not None
        ]

    def stop(self) -> None:
        """SIGTERM every process group (a Celery worker's children too), SIGKILL what is left after 10 s."""
        self._signal_groups(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        self._signal_groups(signal.SIGKILL)

    def _signal_groups(self, signal_number: int) -> None:
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
                os.killpg(process.pid, signal_number)


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (a loopback http:// URL we built)
            return response.status == 200
    except OSError:
        return False


def process_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


# --- The desk's side, through Django in this process (after the bench's database exists) -----------------
# Django is set up only once the bench's database has been created and migrated, so the modules that need
# the app registry are imported inside these functions.


def django_setup(env: dict[str, str]) -> None:
    for name in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "DEBUG"):
        os.environ[name] = env[name]
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def desk_prepare() -> str:
    """One online agent in the default team; returns the Cookie header of a session logged in as them."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model

    from apps.accounts.models import AgentProfile, Team
    from apps.accounts.roles import AGENTS
    from apps.accounts.selectors import team_default
    from apps.accounts.services import agent_profile_ensure, agent_set_presence, user_set_roles

    team = team_default() or Team.objects.create(name="Bench", slug="bench", is_default=True)
    agent, _ = get_user_model().objects.get_or_create(username="bench_agent", defaults={"first_name": "Bea"})
    user_set_roles(user=agent, roles=[AGENTS])
    profile = agent_profile_ensure(user=agent, teams=[team])
    agent_set_presence(profile=profile, presence=AgentProfile.Presence.ONLINE)
    session = importlib.import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(agent.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = agent.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def database_check(conversation_ids: list[int], acked: dict[str, tuple[int, int]]) -> dict[str, int]:
    """What the database holds for this run's conversations, against the acks the clients received."""
    from django.db.models import Count, Max, Min

    from apps.conversations.models import Conversation, Message

    stored = Message.objects.filter(conversation_id__in=conversation_ids, client_id__isnull=False)
    rows = Counter(
        (conversation, str(client_id)) for conversation, client_id in stored.values_list("conversation_id", "client_id")
    )
    seq_of = dict(stored.values_list("client_id", "seq"))
    lost = sum(1 for client_id, (conversation, seq) in acked.items() if seq_of.get(uuid.UUID(client_id)) != seq)
    conversations = Conversation.objects.filter(pk__in=conversation_ids).annotate(
        stored=Count("messages"), low=Min("messages__seq"), high=Max("messages__seq")
    )
    seq_gaps = sum(
        1 for c in conversations if c.stored != c.last_seq or (c.stored and (c.low, c.high) != (1, c.last_seq))
    )
    return {"db_lost": lost, "db_duplicated": sum(n - 1 for n in rows.values() if n > 1), "db_seq_gaps": seq_gaps}


# --- The clients -------------------------------------------------------------------------------------------


@dataclass
class Tally:
    """Everything one run measured, shared by its clients."""

    sent_at: dict[str, float] = field(default_factory=dict)  # client_id -> perf_counter at send
    acked: dict[str, tuple[int, int]] = field(default_factory=dict)  # client_id -> (conversation, seq)
    ack_ms: list[float] = field(default_factory=list)
    ack_timeline: list[tuple[float, float]] = field(default_factory=list)  # (send, ack latency ms), for the log
    delivery_ms: list[float] = field(default_factory=list)
    inbox_ms: list[float] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)  # error frame code / HTTP status / close code -> count
    samples: list[str] = field(default_factory=list)  # the first few odd frames, verbatim
    first_send: float = math.inf
    last_ack: float = 0.0
    last_progress: float = 0.0  # the last send, ack or delivery: the drain waits while this moves

    def progress(self) -> None:
        self.last_progress = time.perf_counter()

    def odd(self, kind: str, detail: Any) -> None:
        self.errors[kind] += 1
        if len(self.samples) < 10:
            self.samples.append(f"{kind}: {detail}")


async def wait_while_progressing(event: asyncio.Event, tally: Tally, quiet: float) -> bool:
    """Wait for ``event`` as long as the run still moves: a saturated server drains its backlog slowly, and
    only ``quiet`` seconds without any send, ack or delivery count as stuck."""
    while not event.is_set():
        if time.perf_counter() - tally.last_progress > quiet:
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), 1.0)
    return True


def message_text(client_id: str) -> str:
    # The client_id ends the text, so the inbox (whose frames carry no client_id) can time each message.
    return f"Hello, where is my order? ref {client_id}"


def text_client_id(text: str) -> str:
    return text[-36:]


async def http_post_json(port: int, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """A minimal HTTP/1.0 POST (no chunking, the server closes), so the bench needs no HTTP client package."""
    payload = json.dumps(body).encode()
    reader, writer = await asyncio.open_connection(HOST, port)
    head = (
        f"POST {path} HTTP/1.0\r\nHost: {HOST}:{port}\r\nOrigin: http://{HOST}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    writer.write(head.encode() + payload)
    response = await reader.read(-1)
    writer.close()
    status_line, _, rest = response.partition(b"\r\n")
    _, _, content = rest.partition(b"\r\n\r\n")
    status = int(status_line.split()[1])
    return status, json.loads(content) if status < 500 and content else {}


def socket_connect(port: int, path: str, cookie: str | None = None) -> Any:
    headers = [("Cookie", cookie)] if cookie else None
    return connect(
        f"ws://{HOST}:{port}{path}",
        origin=f"http://{HOST}:{port}",
        additional_headers=headers,
        compression=None,
        proxy=None,
        ping_interval=None,  # a saturated server answers pings late; the bench measures frames, not keepalive
        open_timeout=FRAME_TIMEOUT,
        max_size=None,
    )


class WidgetClient:
    """One customer's widget: renders each seq once and resumes on a gap, as static/widget does."""

    def __init__(self, port: int, tally: Tally, args: argparse.Namespace) -> None:
        self.port, self.tally, self.args = port, tally, args
        self.conversation, self.token = 0, ""
        self.socket: ClientConnection | None = None
        self.sent: dict[str, float] = {}
        self.rendered: set[int] = set()
        self.delivered: set[str] = set()
        self.resume_seq = 0  # every seq up to here is rendered
        self.last_seq = 0
        self.resuming = False
        self.gap_open = False
        self.settled = asyncio.Event()
        self.sending_done = False
        self.closing = False

    async def open(self, gate: asyncio.Semaphore) -> bool:
        async with gate:
            status, session = await http_post_json(self.port, "/api/widget/sessions/", {"name": "Bench Customer"})
            if status != 201:
                self.tally.odd(f"session HTTP {status}", session)
                return False
            self.conversation, self.token = session["conversation"], session["token"]
            self.socket = await socket_connect(self.port, f"/ws/widget/?token={self.token}")
            state = json.loads(await asyncio.wait_for(self.socket.recv(), FRAME_TIMEOUT))
            if state.get("type") != "conversation.state":
                self.tally.odd("first frame", state)
                return False
        return True

    async def converse(self) -> None:
        reader = asyncio.create_task(self._read())
        try:
            await self._send_paced()
            self.sending_done = True
            self._check_settled()
            await wait_while_progressing(self.settled, self.tally, self.args.drain)
        finally:
            self.closing = True
            await self.socket.close()
            await reader
        self.tally.counts["undelivered_before_final_resume"] += len(set(self.tally_acked()) - self.delivered)
        await self._verify()

    def tally_acked(self) -> list[str]:
        return [client_id for client_id in self.sent if client_id in self.tally.acked]

    async def _send_paced(self) -> None:
        interval, jitter = self.args.interval, self.args.jitter
        next_at = time.perf_counter() + random.uniform(0, interval)
        for _ in range(self.args.messages):
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            client_id = str(uuid.uuid4())
            frame = {"type": "message.send", "client_id": client_id, "text": message_text(client_id)}
            now = time.perf_counter()
            self.sent[client_id] = self.tally.sent_at[client_id] = now
            self.tally.first_send = min(self.tally.first_send, now)
            try:
                await self.socket.send(json.dumps(frame))
            except ConnectionClosed:
                return
            self.tally.counts["sent"] += 1
            self.tally.progress()
            next_at += interval * random.uniform(1 - jitter, 1 + jitter)

    async def _verify(self) -> None:
        """Reload the widget (a fresh socket, resume after_seq 0): every acked message exactly once, and the
        seqs 1..last without a hole. A fresh socket, because broadcasts still queued for the old one would
        mix with the replay."""
        replay: list[dict[str, Any]] = []
        # The replay queues behind every client's pending write on the server's one database thread.
        timeout = max(FRAME_TIMEOUT, self.args.clients * 0.1)
        try:
            async with socket_connect(self.port, f"/ws/widget/?token={self.token}") as reloaded:
                await reloaded.send(json.dumps({"type": "resume", "after_seq": 0}))
                async with asyncio.timeout(timeout):
                    async for raw in reloaded:
                        frame = json.loads(raw)
                        if frame["type"] == "resume.done":
                            break
                        replay += [frame["message"]] if frame["type"] == "message.new" else []
        except (TimeoutError, ConnectionClosed, OSError) as exc:
            self.tally.odd("final resume", f"conversation {self.conversation}: {exc!r}")
        seqs = [message["seq"] for message in replay]
        replayed = Counter(text_client_id(m["text"]) for m in replay if m["role"] == "customer")
        for client_id in self.tally_acked():
            self.tally.counts["lost"] += replayed[client_id] == 0
            self.tally.counts["duplicated"] += max(0, replayed[client_id] - 1)
        self.tally.counts["replay_seq_gaps"] += seqs != list(range(1, len(seqs) + 1))

    async def _read(self) -> None:
        try:
            async for raw in self.socket:
                await self._on_frame(json.loads(raw), time.perf_counter())
        except ConnectionClosed:
            pass
        if not self.closing:
            self.tally.odd(f"widget socket closed {self.socket.close_code}", f"conversation {self.conversation}")
            self.settled.set()

    async def _on_frame(self, frame: dict[str, Any], now: float) -> None:
        kind = frame.get("type")
        if kind == "message.ack":
            self._on_ack(frame, now)
        elif kind == "message.new":
            await self._on_message(frame["message"], now)
        elif kind == "resume.done":
            await self._on_resume_done(frame)
        elif kind == "error":
            self.tally.odd(f"error frame {frame.get('code')}", frame)
            self.sent.pop(frame.get("client_id", ""), None)  # refused: it will never be acked
        self._check_settled()

    def _on_ack(self, frame: dict[str, Any], now: float) -> None:
        client_id = frame["client_id"]
        if client_id in self.tally.acked:
            self.tally.counts["duplicate_acks"] += 1
            return
        self.tally.acked[client_id] = (self.conversation, frame["seq"])
        self.tally.ack_ms.append((now - self.sent[client_id]) * 1000)
        self.tally.ack_timeline.append((self.sent[client_id], self.tally.ack_ms[-1]))
        self.tally.last_ack = max(self.tally.last_ack, now)
        self.tally.progress()

    async def _on_message(self, message: dict[str, Any], now: float) -> None:
        seq = message["seq"]
        if seq in self.rendered:
            self.tally.counts["duplicate_frames"] += 1
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
        client_id = text_client_id(message["text"])
        if message["role"] == "customer" and client_id in self.sent and client_id not in self.delivered:
            self.delivered.add(client_id)
            self.tally.delivery_ms.append((now - self.sent[client_id]) * 1000)
            self.tally.progress()

    async def _request_resume(self) -> None:
        if not self.resuming:
            self.resuming = True
            await self.socket.send(json.dumps({"type": "resume", "after_seq": self.resume_seq}))

    async def _on_resume_done(self, frame: dict[str, Any]) -> None:
        progressed = frame["last_seq"] > self.resume_seq
        self.resume_seq = max(self.resume_seq, frame["last_seq"])
        self.resuming = False
        if self.last_seq > self.resume_seq and progressed:
            await self._request_resume()
            return
        if self.gap_open and self.resume_seq >= self.last_seq:
            self.tally.counts["gaps_healed"] += 1
            self.gap_open = False

    def _check_settled(self) -> None:
        """Set once every message this client sent is acked (or refused) and rendered, and no resume is out."""
        done = self.sending_done and not self.resuming
        if done and all(client_id in self.tally.acked and client_id in self.delivered for client_id in self.sent):
            self.settled.set()


class InboxClient:
    """The agent's inbox socket: times the arrival of every customer message of the run."""

    def __init__(self, port: int, cookie: str, tally: Tally) -> None:
        self.port, self.cookie, self.tally = port, cookie, tally
        self.seen: set[str] = set()
        self.expected: set[str] | None = None
        self.caught_up = asyncio.Event()
        self.closing = False

    async def run(self, connected: asyncio.Event) -> None:
        async with socket_connect(self.port, "/ws/inbox/", self.cookie) as inbox:
            self.socket = inbox
            snapshot = json.loads(await asyncio.wait_for(inbox.recv(), FRAME_TIMEOUT))
            if snapshot.get("type") != "inbox.snapshot":
                self.tally.odd("inbox first frame", snapshot)
            connected.set()
            try:
                async for raw in inbox:
                    self._on_frame(json.loads(raw), time.perf_counter())
            except ConnectionClosed:
                pass
            if not self.closing:
                self.tally.odd(f"inbox socket closed {inbox.close_code}", "")

    def _on_frame(self, frame: dict[str, Any], now: float) -> None:
        if frame.get("type") == "error":
            self.tally.odd(f"inbox error frame {frame.get('code')}", frame)
        if frame.get("type") != "message.new" or frame["message"]["role"] != "customer":
            return
        client_id = text_client_id(frame["message"]["text"])
        if client_id in self.seen:
            self.tally.counts["inbox_duplicate_frames"] += 1
        elif client_id in self.tally.sent_at:
            self.seen.add(client_id)
            self.tally.inbox_ms.append((now - self.tally.sent_at[client_id]) * 1000)
            self.tally.progress()
            self._check_caught_up()

    def expect(self, client_ids: set[str]) -> None:
        """The inbox is caught up once it has seen all of ``client_ids``."""
        self.expected = client_ids
        self._check_caught_up()

    def _check_caught_up(self) -> None:
        if self.expected is not None and self.expected <= self.seen:
            self.caught_up.set()

    async def close(self) -> None:
        self.closing = True
        await self.socket.close()


# --- One run -----------------------------------------------------------------------------------------------


async def sample_daphne(pids: list[int], peaks: dict[int, float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        for pid in pids:
            peaks[pid] = max(peaks.get(pid, 0.0), process_rss_mb(pid))
        await asyncio.sleep(0.5)


async def load_run(args: argparse.Namespace, stack: Stack, cookie: str) -> tuple[dict[str, Any], list[int], Tally]:
    tally = Tally()
    inbox = InboxClient(stack.ports[0], cookie, tally)
    inbox_connected = asyncio.Event()
    inbox_task = asyncio.create_task(inbox.run(inbox_connected))
    await asyncio.wait_for(inbox_connected.wait(), FRAME_TIMEOUT)
    clients = [WidgetClient(stack.ports[i % len(stack.ports)], tally, args) for i in range(args.clients)]
    gate = asyncio.Semaphore(args.connect_concurrency)
    opened = await asyncio.gather(*(client.open(gate) for client in clients), return_exceptions=True)
    for outcome in opened:
        if isinstance(outcome, BaseException):
            tally.odd("widget connect", repr(outcome))
    ready = [client for client, outcome in zip(clients, opened, strict=True) if outcome is True]

    pids, peaks, stop = stack.daphne_pids(), {}, asyncio.Event()
    sampler = asyncio.create_task(sample_daphne(pids, peaks, stop))
    cpu_before = [process_cpu_seconds(pid) for pid in pids]
    own_cpu_before, wall_before = time.process_time(), time.perf_counter()
    tally.progress()
    await asyncio.gather(*(client.converse() for client in ready))
    wall = time.perf_counter() - wall_before
    daphne_cpu = [
        (process_cpu_seconds(pid) - before) / wall * 100 for pid, before in zip(pids, cpu_before, strict=True)
    ]
    own_cpu = (time.process_time() - own_cpu_before) / wall * 100
    inbox.expect(set(tally.acked))
    await wait_while_progressing(inbox.caught_up, tally, args.drain)
    await inbox.close()
    await inbox_task
    stop.set()
    await sampler

    acked = len(tally.acked)
    span = tally.last_ack - tally.first_send
    figures = {
        "clients": len(ready),
        "sent": tally.counts["sent"],
        "acked": acked,
        "offered_rate": len(ready) / args.interval,
        "acked_rate": acked / span if span > 0 else 0.0,
        "ack": percentiles(tally.ack_ms, (50, 95, 99)),
        "delivery": percentiles(tally.delivery_ms, (50, 95, 99)),
        "inbox": percentiles(tally.inbox_ms, (50, 95)),
        "inbox_missed": acked - len(inbox.seen),
        "rss": [peaks.get(pid, 0.0) for pid in pids],
        "daphne_cpu": daphne_cpu,
        "client_cpu": own_cpu,
        "load": os.getloadavg()[0],
        "unacked": tally.counts["sent"]
        - acked
        - sum(n for k, n in tally.errors.items() if k.startswith("error frame")),
        "errors": sum(tally.errors.values()),
        **{key: tally.counts[key] for key in COUNTED},
    }
    return figures, [client.conversation for client in ready], tally


COUNTED = (
    "lost",
    "duplicated",
    "gaps_seen",
    "gaps_healed",
    "undelivered_before_final_resume",
    "duplicate_frames",
    "duplicate_acks",
    "inbox_duplicate_frames",
    "replay_seq_gaps",
)


def percentiles(values: list[float], points: tuple[int, ...]) -> list[float]:
    ordered = sorted(values)
    if not ordered:
        return [math.nan for _ in points]
    return [ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] for p in points]


# --- The table ---------------------------------------------------------------------------------------------

ONE_PROCESS = "one Daphne process"
STOCK_LAYER = "stock layer (capacity 100): 1,868 of 2,000 broadcasts dropped at 100 clients"
# (label, figure key, index into a list figure or None, published anchor from DESIGN.md "Traps measured")
ROWS = [
    ("clients connected", "clients", None, "—"),
    ("messages sent", "sent", None, "—"),
    ("messages acked", "acked", None, "—"),
    ("offered messages/s", "offered_rate", None, "—"),
    ("messages/s (acked)", "acked_rate", None, f"180-330/s stored in PostgreSQL, {ONE_PROCESS}"),
    ("ack latency p50 (ms)", "ack", 0, "— (store ≈ 2.4-3 ms per message)"),
    ("ack latency p95 (ms)", "ack", 1, "—"),
    ("ack latency p99 (ms)", "ack", 2, "—"),
    ("widget delivery p50 (ms)", "delivery", 0, "—"),
    ("widget delivery p95 (ms)", "delivery", 1, "—"),
    ("widget delivery p99 (ms)", "delivery", 2, "—"),
    ("inbox delivery p50 (ms)", "inbox", 0, "—"),
    ("inbox delivery p95 (ms)", "inbox", 1, "—"),
    ("inbox: customer messages not seen live", "inbox_missed", None, STOCK_LAYER),
    ("lost (acked, absent from the replay)", "lost", None, "0: the database is the truth"),
    ("duplicated (one client_id twice)", "duplicated", None, "0"),
    ("gaps seen live (broadcast dropped)", "gaps_seen", None, "—"),
    ("gaps healed by resume", "gaps_healed", None, "—"),
    ("acked, never shown on its socket (only the reload has it)", "undelivered_before_final_resume", None, "—"),
    ("frames for a seq already shown (ignored)", "duplicate_frames", None, "—"),
    ("unacked (no ack, no error)", "unacked", None, "—"),
    ("error frames, failed sessions, socket closes", "errors", None, "stock settings: 1011 about every 5 s"),
    ("DB: same (conversation, client_id) twice", "db_duplicated", None, "0"),
    ("DB: acked but not stored with that seq", "db_lost", None, "0"),
    ("DB: conversations whose seqs are not 1..last_seq", "db_seq_gaps", None, "0"),
    ("reload replays whose seqs are not 1..last_seq", "replay_seq_gaps", None, "0"),
    ("Daphne log: ERROR lines (500s, exceptions)", "log_errors", None, "0"),
    ("Daphne log: 'Attempt to send on a closed protocol'", "log_closed_send", None, "—"),
    ("Daphne RSS peak per process (MB)", "rss", None, "≈40 KB per idle socket (5,000 in 260 MB)"),
    ("Daphne CPU (% of one core) per process", "daphne_cpu", None, f"{ONE_PROCESS} saturates one core"),
    ("bench client CPU (% of one core)", "client_cpu", None, "—"),
    ("machine load average (1 min) at the end", "load", None, "— (2 cores)"),
]
MUST_BE_ZERO = (
    "lost",
    "duplicated",
    "unacked",
    "errors",
    "db_duplicated",
    "db_lost",
    "db_seq_gaps",
    "replay_seq_gaps",
    "log_errors",
)


def cell(value: Any) -> str:
    if isinstance(value, list):
        return " / ".join(cell(item) for item in value)
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}"
    return f"{value:,}"


def median_of(runs: list[dict[str, Any]], key: str, index: int | None) -> Any:
    values = [run[key] if index is None else run[key][index] for run in runs]
    if isinstance(values[0], list):  # one value per Daphne process: the median of each
        return [statistics.median(column) for column in zip(*values, strict=True)]
    numeric = [value for value in values if not (isinstance(value, float) and math.isnan(value))]
    return statistics.median(numeric) if numeric else math.nan


def table(runs: list[dict[str, Any]]) -> str:
    header = f"| figure | published anchor | ours (median of {len(runs)}) | each run |"
    lines = [header, "| --- | --- | --- | --- |"]
    for label, key, index, anchor in ROWS:
        each = " · ".join(cell(run[key] if index is None else run[key][index]) for run in runs)
        lines.append(f"| {label} | {anchor} | {cell(median_of(runs, key, index))} | {each} |")
    return "\n".join(lines)


# --- Main --------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.chat", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200, help="concurrent widget sockets (default 200)")
    parser.add_argument("--messages", type=int, default=20, help="messages each client sends (default 20)")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between a client's sends (0.5)")
    parser.add_argument("--jitter", type=float, default=0.3, help="each interval is ±this fraction (0.3)")
    parser.add_argument("--runs", type=int, default=3, help="runs; the table quotes the median (default 3)")
    parser.add_argument("--daphne", type=int, default=1, help="Daphne processes; clients spread over them (1)")
    parser.add_argument("--drain", type=float, default=30.0, help="give up after this many quiet seconds (30)")
    # 10, not more: with DB_CONN_MAX_AGE=60 under ASGI every HTTP request thread keeps its own PostgreSQL
    # connection until it is garbage-collected, and 50 session POSTs at once exhausted max_connections=100.
    parser.add_argument("--connect-concurrency", type=int, default=10, help="sessions opened at once (10)")
    parser.add_argument("--rate-limit", type=int, help="the server's messages per socket per 10 s (its own: 20)")
    parser.add_argument(
        "--server-env", action="append", default=[], metavar="NAME=VALUE", help="extra env for Daphne and Celery"
    )
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/postgres", help="admin URL")
    parser.add_argument("--database", default="helpdesk_bench", help="dropped and created (helpdesk_bench)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15", help="flushed at start (db 15)")
    args = parser.parse_args(argv)
    if not (1 <= args.clients <= 5000 and 1 <= args.messages <= 1000 and 1 <= args.runs <= 10):
        parser.error("bounded: 1-5,000 clients, 1-1,000 messages, 1-10 runs")
    if not (1 <= args.daphne <= 8 and 0 <= args.jitter < 1 and args.interval > 0):
        parser.error("bounded: 1-8 Daphne processes, jitter in [0, 1), a positive interval")
    if any("=" not in variable for variable in args.server_env):
        parser.error("--server-env takes NAME=VALUE")
    if "127.0.0.1" not in args.postgres or "127.0.0.1" not in args.redis:
        parser.error("the bench only talks to 127.0.0.1")
    return args


def run_bound(args: argparse.Namespace) -> float:
    """The most one run may take: opening sessions, the paced sends, the drain and the final replay."""
    paced = args.messages * args.interval * (1 + args.jitter)
    saturated = args.clients * args.messages / 10  # the backlog drains at no less than 10 messages/s
    return 60 + args.clients * 0.3 + paced + saturated + 2 * args.drain


def measured_run(args: argparse.Namespace, stack: Stack, cookie: str, number: int) -> tuple[dict[str, Any], str]:
    """One run's figures, and what went wrong in it ("" when nothing); raw samples go to var/bench-chat/."""
    logged_before = len(stack.daphne_log_errors())
    figures, conversations, tally = asyncio.run(asyncio.wait_for(load_run(args, stack, cookie), run_bound(args)))
    figures.update(database_check(conversations, tally.acked))
    logged = stack.daphne_log_errors()[logged_before:]
    # A broadcast still queued for a socket the client has closed: Daphne logs it, nothing is lost.
    closed_send = [line for line in logged if "Attempt to send on a closed protocol" in line]
    figures.update(log_closed_send=len(closed_send), log_errors=len(logged) - len(closed_send))
    for line in [line for line in logged if line not in closed_send][:5]:
        tally.samples.append(line)
    timeline = [(round(sent - tally.first_send, 3), round(ms, 1)) for sent, ms in sorted(tally.ack_timeline)]
    raw = {"figures": figures, "ack_timeline": timeline, "odd": tally.samples, "errors": tally.errors}
    (LOG_DIR / f"run-{number}.json").write_text(json.dumps(raw, default=str))
    bad: dict[str, Any] = {key: figures[key] for key in MUST_BE_ZERO if figures[key]}
    if stack.exited():
        bad["processes"] = stack.exited()
    summary = f"{figures['acked_rate']:.0f} msg/s, ack p50 {figures['ack'][0]:.0f} ms, load {figures['load']:.1f}"
    print(f"run {number}/{args.runs}: {summary}; {'problems ' + str(bad) if bad else 'nothing lost'}", flush=True)
    for sample in tally.samples:
        print(f"  {sample}")
    return figures, f"run {number}: {bad}; {dict(tally.errors)}" if bad else ""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally below tears the stack down
    config = (
        f"{args.clients} clients x {args.messages} messages every {args.interval:g} s ±{args.jitter:.0%}, "
        f"{args.daphne} Daphne process(es), {args.runs} run(s)"
    )
    print(config, flush=True)
    failures: list[str] = []
    runs: list[dict[str, Any]] = []
    stack = Stack(args)
    try:
        stack.start()
        django_setup(stack.env)
        cookie = desk_prepare()
        print(f"stack up: Daphne on {stack.ports}, logs in {LOG_DIR}", flush=True)
        for number in range(1, args.runs + 1):
            figures, problem = measured_run(args, stack, cookie, number)
            runs.append(figures)
            failures += [problem] if problem else []
    except Exception as exc:  # any failure is reported, and the stack still comes down
        failures.append(f"{type(exc).__name__}: {exc}")
    finally:
        stack.stop()
    if runs:
        print(f"\n{config}\n\n{table(runs)}")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures or not runs else 0


if __name__ == "__main__":
    sys.exit(main())
