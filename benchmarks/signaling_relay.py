"""Signaling relay: rooms of two peers replay an offer, an answer and 15 ICE candidates each,
through daphne and the Redis channel layer (the real consumer: validation, rate limit, addressed
relay), against a minimal relay written directly on the ``websockets`` library, in the same run.

Three phases for each server, the same 200 rooms connected throughout:
- trickle: as browsers gather candidates, one message every 20 ms per peer, the rooms starting
  within five seconds of each other (sessions that begin on the hour);
- crowded: one message every 10 ms per peer, every room starting within one second;
- burst: every room sends everything at once.
Each reports relay latency p50/p99 (send to receipt, across the relay), loss, reordering and
messages per second.

Needs PostgreSQL and Redis (the production configuration):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/teletherapy_bench \\
    REDIS_URL=redis://127.0.0.1:6379/12 .venv/bin/python benchmarks/signaling_relay.py

(The database is dropped and recreated.) BENCH_ROOMS sets the number of rooms (default 200).
BENCH_PROCESSES=2 spreads the sockets over two daphne processes in turn, so the two peers of a
room often meet through Redis. BENCH_PROXY=1 instead runs one daphne process and then two behind
HAProxy on the deployment's configuration, which hashes each room onto one process.
BENCH_PROFILE=<folder> runs each daphne process under cProfile and leaves its profile there.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="signaling-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "teletherapy.settings")

from tests.browser import free_port, wait_healthy  # noqa: E402

REDIS_URL = os.environ.get("REDIS_URL", "")
ROOMS = int(os.environ.get("BENCH_ROOMS", "200"))
# daphne processes behind the (imaginary) load balancer; sockets are spread over them in turn, so
# the two peers of a room are often on different processes and meet through Redis.
PROCESSES = int(os.environ.get("BENCH_PROCESSES", "1"))
CANDIDATES = 15
FINGERPRINT = ":".join(["AB"] * 32)


def sdp(seq: int, sent_ns: int) -> str:
    """A valid DTLS description whose o= line carries the sequence number and the send time."""
    return (
        f"v=0\r\no=- {sent_ns} {seq} IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
        "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
        "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
        f"a=fingerprint:sha-256 {FINGERPRINT}\r\na=setup:actpass\r\na=rtpmap:96 VP8/90000\r\n"
    )


def stamp(message: dict) -> tuple[int, int]:
    if message["type"] in ("offer", "answer"):
        _dash, sent, seq = message["sdp"].split("\r\n")[1].split()[:3]
        return int(seq), int(sent)
    seq, sent = message["candidate"]["usernameFragment"].split(":")
    return int(seq), int(sent)


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    received: int = 0
    reordered: int = 0
    first_send: float = 0.0
    last_receive: float = 0.0


class Peer:
    def __init__(self, socket: object, peer_id: str) -> None:
        self.socket = socket
        self.peer_id = peer_id
        self.other = ""

    async def send_run(self, kind: str, pace: float, tally: Tally) -> None:
        for seq in range(CANDIDATES + 1):
            now = time.time_ns()
            if seq == 0:
                message = {"v": 1, "type": kind, "to": self.other, "sdp": sdp(0, now)}
            else:
                candidate = {
                    "candidate": f"candidate:{seq} 1 udp 2122260223 127.0.0.1 {50000 + seq} typ host",
                    "sdpMid": "0",
                    "sdpMLineIndex": 0,
                    "usernameFragment": f"{seq}:{now}",
                }
                message = {"v": 1, "type": "ice", "to": self.other, "candidate": candidate}
            await self.socket.send(json.dumps(message))
            if pace:
                await asyncio.sleep(pace)

    async def receive_run(self, tally: Tally, expect: int) -> None:
        last = -1
        got = 0
        while got < expect:
            message = json.loads(await asyncio.wait_for(self.socket.recv(), 30))
            if message["type"] not in ("offer", "answer", "ice"):
                continue
            seq, sent = stamp(message)
            arrived = time.time_ns()
            tally.latencies.append((arrived - sent) / 1e6)
            tally.last_receive = max(tally.last_receive, arrived / 1e9)
            tally.received += 1
            if seq <= last:
                tally.reordered += 1
            last = seq
            got += 1


async def play_room(caller: Peer, callee: Peer, pace: float, delay: float, tally: Tally) -> None:
    await asyncio.sleep(delay)
    expect = CANDIDATES + 1

    async def callee_side() -> None:
        first = json.loads(await asyncio.wait_for(callee.socket.recv(), 30))
        while first["type"] != "offer":
            first = json.loads(await asyncio.wait_for(callee.socket.recv(), 30))
        _seq, sent = stamp(first)
        tally.latencies.append((time.time_ns() - sent) / 1e6)
        tally.received += 1
        await asyncio.gather(callee.send_run("answer", pace, tally), callee.receive_run(tally, expect - 1))

    await asyncio.gather(caller.send_run("offer", pace, tally), caller.receive_run(tally, expect), callee_side())


async def run_phase(rooms: list[tuple[Peer, Peer]], pace: float, spread: float) -> dict:
    tally = Tally(first_send=time.time())
    rng = random.Random(7)  # noqa: S311 - start times, not secrets
    started = time.perf_counter()
    results = await asyncio.gather(
        *(play_room(a, b, pace, rng.uniform(0, spread), tally) for a, b in rooms), return_exceptions=True
    )
    elapsed = time.perf_counter() - started
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors and os.environ.get("BENCH_DEBUG"):
        print("first error:", repr(errors[0]))
    sent = len(rooms) * 2 * (CANDIDATES + 1)
    lat = sorted(tally.latencies)
    return {
        "sent": sent,
        "received": tally.received,
        "lost": sent - tally.received,
        "reordered": tally.reordered,
        "errors": len(errors),
        "p50_ms": statistics.median(lat) if lat else float("nan"),
        "p99_ms": lat[int(len(lat) * 0.99) - 1] if lat else float("nan"),
        "msgs_per_s": tally.received / elapsed,
        "elapsed_s": elapsed,
    }


# The baseline: a minimal relay on the websockets library ---------------------------------------


def baseline_server(port: int) -> None:
    from websockets.asyncio.server import serve

    rooms: dict[str, dict[str, object]] = {}

    async def handler(socket: object) -> None:
        _empty, _room, room, role = socket.request.path.split("/")  # type: ignore[attr-defined]
        members = rooms.setdefault(room, {})
        members[role] = socket
        other = "callee" if role == "caller" else "caller"
        try:
            async for text in socket:  # type: ignore[attr-defined]
                target = members.get(other)
                if target is not None:
                    await target.send(text)  # type: ignore[attr-defined]
        finally:
            members.pop(role, None)

    async def main() -> None:
        async with serve(handler, "127.0.0.1", port, max_queue=None):
            await asyncio.Future()

    asyncio.run(main())


async def baseline_rooms(port: int, count: int) -> list[tuple[Peer, Peer]]:
    from websockets.asyncio.client import connect

    rooms = []
    for room in range(count):
        caller = Peer(await connect(f"ws://127.0.0.1:{port}/room/{room}/caller"), "caller")
        callee = Peer(await connect(f"ws://127.0.0.1:{port}/room/{room}/callee"), "callee")
        caller.other, callee.other = "0" * 16, "0" * 16
        rooms.append((caller, callee))
    return rooms


# The platform: daphne, the signaling consumer, channels-redis ----------------------------------


def prepare_platform(count: int) -> tuple[list[str], dict[str, str], str]:
    """``count`` sessions about to begin, each with its own therapist and the same client checked
    in: their ids, each one's therapist's session key, and the client's."""
    from benchmarks.audit_append import ensure_postgres_database

    ensure_postgres_database()
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.test import override_settings
    from django.utils import timezone

    from accounts.login_session import AUTH_AT_KEY, DEVICE_SESSION_KEY, LAST_SEEN_KEY
    from accounts.models import Role, TOTPDevice
    from accounts.services.practices import practice_create, user_create
    from consent.selectors import current_version
    from consent.services import consent_sign
    from records.services import chart_create
    from sessions.services import appointment_schedule, check_in_record, licenses_set

    call_command("migrate", verbosity=0)
    call_command("migrate", database="psychotherapy", verbosity=0)
    practice = practice_create(name="Bench practice", slug="bench")
    password = "Bench-password-2026"  # noqa: S105
    # A therapist for each room: a therapist's own sessions may not overlap, and these all begin at once.
    # Nobody signs in with these passwords (the login sessions are made below), so they are hashed
    # with a fast hasher: thousands of Argon2 hashes would take most of the set-up's time.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        therapists = [
            user_create(
                practice=practice,
                email=f"t{n}@bench.example",
                full_name=f"T{n}",
                password=password,
                roles=[Role.THERAPIST],
            )
            for n in range(count)
        ]
        client = user_create(
            practice=practice, email="c@bench.example", full_name="C", password=password, roles=[Role.CLIENT]
        )
    chart_create(actor=None, client=client, therapists=therapists)
    for kind in ("treatment", "telehealth"):
        version = current_version(practice_id=practice.pk, kind=kind)
        consent_sign(
            signer=client, version=version, on_behalf_of=client, typed_name="C", confirmed_read=True, context=None
        )
    ids = []
    for therapist in therapists:
        licenses_set(therapist=therapist, regions=["US-NY"], context=None)
        appointment = appointment_schedule(
            therapist=therapist,
            clients=[client],
            kind="individual",
            starts_at=timezone.now() + timezone.timedelta(minutes=5),
            notify=False,
        )
        check_in_record(
            user=client,
            appointment=appointment,
            location="US-NY",
            private_device=True,
            private_network=True,
            private_space=True,
            context=None,
        )
        ids.append(str(appointment.pk))

    def session_for(user: object) -> str:
        device = TOTPDevice(user=user, name="app", confirmed=True, secret="JBSWY3DPEHPK3PXP")  # noqa: S106
        device.save()
        store = SessionStore()
        now = int(time.time())
        store[SESSION_KEY] = str(user.pk)  # type: ignore[attr-defined]
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()  # type: ignore[attr-defined]
        store[DEVICE_SESSION_KEY] = device.persistent_id
        store[AUTH_AT_KEY] = now
        store[LAST_SEEN_KEY] = now
        store.create()
        return str(store.session_key)

    hosts = {appointment_id: session_for(t) for appointment_id, t in zip(ids, therapists, strict=True)}
    return ids, hosts, session_for(client)


async def platform_rooms(
    ports: list[int], ids: list[str], hosts: dict[str, str], client_key: str
) -> list[tuple[Peer, Peer]]:
    from websockets.asyncio.client import connect

    turn = iter(range(10**9))

    def next_port() -> int:
        return ports[next(turn) % len(ports)]

    async def next_of(socket: object, kind: str) -> dict:
        while True:
            message = json.loads(await asyncio.wait_for(socket.recv(), 30))  # type: ignore[attr-defined]
            if message["type"] == kind:
                return message
            if message["type"] == "bye":
                raise RuntimeError(message)

    async def open_room(appointment_id: str) -> tuple[Peer, Peer]:
        port = next_port()
        url = f"ws://127.0.0.1:{port}/ws/sessions/{appointment_id}/"
        origin = f"http://127.0.0.1:{port}"
        host = await connect(url, origin=origin, additional_headers={"Cookie": f"sessionid={hosts[appointment_id]}"})
        host_id = (await next_of(host, "welcome"))["peer"]
        await host.send(json.dumps({"v": 1, "type": "join"}))
        port = next_port() if len(ports) > 1 and len(ids) > 1 else port
        url = f"ws://127.0.0.1:{port}/ws/sessions/{appointment_id}/"
        origin = f"http://127.0.0.1:{port}"
        guest = await connect(url, origin=origin, additional_headers={"Cookie": f"sessionid={client_key}"})
        welcome = await next_of(guest, "welcome")
        guest_id = welcome["peer"]
        await guest.send(json.dumps({"v": 1, "type": "join"}))
        if welcome["state"] != "admitted":  # admitted in an earlier run of the same rooms: straight in
            waiting = await next_of(host, "waiting")
            await host.send(json.dumps({"v": 1, "type": "admit", "peer": waiting["peer"]}))
        await next_of(guest, "peer-joined")
        await next_of(host, "peer-joined")
        caller, callee = Peer(guest, guest_id), Peer(host, host_id)
        caller.other, callee.other = host_id, guest_id
        return caller, callee

    rooms = []
    for appointment_id in ids:
        rooms.append(await open_room(appointment_id))
    return rooms


PHASES = {"trickle": (0.020, 5.0), "crowded": (0.010, 1.0), "burst": (0.0, 0.0)}


async def measure(rooms: list[tuple[Peer, Peer]]) -> dict:
    results = {}
    for name, (pace, spread) in PHASES.items():
        results[name] = await run_phase(rooms, pace, spread)
        await asyncio.sleep(1)
    for a, b in rooms:
        await a.socket.close()
        await b.socket.close()
    return results


def show(name: str, result: dict) -> None:
    for phase in PHASES:
        r = result[phase]
        print(
            f"{name:<28} {phase:<6} {r['received']:>6}/{r['sent']:<6} lost {r['lost']:<3} reordered {r['reordered']:<3}"
            f" p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  {r['msgs_per_s']:8.0f} msgs/s"
        )


def start_daphnes(count: int) -> tuple[list[int], list[subprocess.Popen]]:
    ports = [free_port() for _ in range(count)]
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    profile = os.environ.get("BENCH_PROFILE", "")  # a folder: each daphne runs under cProfile

    def command(port: int) -> list[str]:
        daphne = [str(ROOT / ".venv/bin/daphne"), "-b", "127.0.0.1", "-p", str(port), "teletherapy.asgi:application"]
        if not profile:
            return daphne
        return [sys.executable, "-m", "cProfile", "-o", str(Path(profile) / f"daphne-{port}.prof"), *daphne]

    processes = [
        subprocess.Popen(  # noqa: S603 - our own daphne
            command(port),
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(Path(os.environ["DATA_DIR"]) / f"daphne-{port}.log", "wb"),  # noqa: SIM115
        )
        for port in ports
    ]
    for port, process in zip(ports, processes, strict=True):
        wait_healthy(f"http://127.0.0.1:{port}", process)
    return ports, processes


def start_haproxy(ports: list[int]) -> tuple[int, subprocess.Popen]:
    """HAProxy on the deployment's configuration (deploy/haproxy/haproxy.cfg) in front of these
    daphne processes; with one, both of its server lines point at it."""
    port = free_port()
    servers = [f"127.0.0.1:{p}" for p in (ports * 2)[:2]]
    env = dict(os.environ, PROXY_BIND=f"127.0.0.1:{port}", WEB_1=servers[0], WEB_2=servers[1])
    config = ROOT / "deploy" / "haproxy" / "haproxy.cfg"
    binary = shutil.which("haproxy") or sys.exit("Install Debian's haproxy for BENCH_PROXY.")
    process = subprocess.Popen(  # noqa: S603 - Debian's haproxy
        [binary, "-db", "-f", str(config)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_healthy(f"http://127.0.0.1:{port}", process)
    return port, process


def run_platform(count: int, proxy: bool, ids: list[str], hosts: dict[str, str], client_key: str) -> dict:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    ports, processes = start_daphnes(count)
    if proxy:
        proxy_port, haproxy = start_haproxy(ports)
        processes.append(haproxy)
        ports = [proxy_port]
    try:
        time.sleep(1)

        async def go() -> dict:
            return await measure(await platform_rooms(ports, ids, hosts, client_key))

        return asyncio.run(go())
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--baseline-server":
        baseline_server(int(sys.argv[2]))
        return
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not REDIS_URL:
        sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL: this benchmark measures the production configuration.")
    ids, hosts, client_key = prepare_platform(ROOMS)
    os.environ["REDIS_URL"] = REDIS_URL  # the shared set-up code drops it for the other benchmarks

    baseline_port = free_port()
    baseline = subprocess.Popen(  # noqa: S603 - this file, as the baseline server
        [sys.executable, __file__, "--baseline-server", str(baseline_port)], cwd=ROOT, stderr=subprocess.DEVNULL
    )
    try:
        time.sleep(1)

        async def base_run() -> dict:
            return await measure(await baseline_rooms(baseline_port, ROOMS))

        base = asyncio.run(base_run())
    finally:
        baseline.terminate()
        baseline.wait(10)
    print(f"{ROOMS} rooms of two peers, {2 * (CANDIDATES + 1)} messages per room per phase")
    show("websockets relay (baseline)", base)
    if os.environ.get("BENCH_PROXY"):
        # Behind HAProxy, as deployed: one process, then two, the rooms hashed on the appointment.
        one = run_platform(1, True, ids, hosts, client_key)
        two = run_platform(2, True, ids, hosts, client_key)
        show("HAProxy + 1 daphne", one)
        show("HAProxy + 2 daphne", two)
        scale = two["burst"]["msgs_per_s"] / one["burst"]["msgs_per_s"]
        raw = two["burst"]["msgs_per_s"] / base["burst"]["msgs_per_s"]
        print(f"burst throughput, 2 processes / 1 process behind HAProxy: {scale:.2f}x (goal >= 1.0x)")
        print(f"burst throughput, 2 processes behind HAProxy / baseline: {raw:.1%} (aim: 75%)")
        print(f"crowded p99 with 2 processes: {two['crowded']['p99_ms']:.1f} ms (goal < 20 ms)")
        return
    real = run_platform(PROCESSES, False, ids, hosts, client_key)
    print(f"{PROCESSES} daphne process(es), sockets spread over them in turn")
    show("daphne + channels-redis", real)
    ratio = real["burst"]["msgs_per_s"] / base["burst"]["msgs_per_s"]
    print(f"burst throughput ratio (platform / baseline): {ratio:.1%}")
    flawless = all(real[p]["lost"] == 0 and real[p]["reordered"] == 0 for p in PHASES)
    print(f"goals: trickle p99 < 20 ms: {real['trickle']['p99_ms'] < 20}; no loss or reordering: {flawless}; ")
    print(f"       throughput >= 25% of the baseline: {ratio >= 0.25}")


if __name__ == "__main__":
    main()
