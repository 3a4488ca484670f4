"""Open sockets: how many signaling sockets one daphne process holds, what each costs in resident
memory, and how quickly heartbeats come back while they are all open; against a minimal
``websockets`` server holding as many, in the same run.

The sockets are opened by a load client in its own process (this file, ``--load``): half are
therapists, half the client of the same sessions (each session has its own therapist, since a
therapist's sessions may not overlap), so every one passes the real door (sign-in, second factor,
the session, consent, check-in). Each then sends the heartbeat the page sends, at the interval
the server's welcome gives, at a random offset, and the round trip of each is recorded. Memory
is the server's resident set (``/proc/<pid>/status``) before the sockets and with all of them
open, divided by their number.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/teletherapy_bench \\
    REDIS_URL=redis://127.0.0.1:6379/12 .venv/bin/python benchmarks/open_sockets.py

BENCH_SOCKETS sets how many (default 5000); BENCH_SECONDS how long the heartbeats run (60);
BENCH_ARRIVALS how many sockets open per second (50: each passes the real door, which asks the
database). SIGNALING_RECHECK_SECONDS reaches the daphne process as in deployment. BENCH_PROFILE=<folder>
first times one socket's re-check in this process and prints its profile.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="sockets-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "teletherapy.settings")

from tests.browser import free_port  # noqa: E402

SOCKETS = int(os.environ.get("BENCH_SOCKETS", "5000"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
ARRIVALS = float(os.environ.get("BENCH_ARRIVALS", "50"))  # sockets opened per second
GOAL_KIB = 30
GOAL_P99_MS = 50


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


# The load client, in its own process ---------------------------------------------------------


async def load(spec: dict) -> dict:
    """Open every socket, wait until all are welcomed, then heartbeat; report round trips."""
    from websockets.asyncio.client import connect

    ready = asyncio.Event()
    opened = 0
    rtts: list[float] = []
    errors: list[str] = []

    async def hold(url: str, cookie: str | None) -> None:
        nonlocal opened
        headers = {"Cookie": cookie} if cookie else {}
        try:
            async with connect(
                url, origin=spec["origin"], additional_headers=headers, max_queue=None, open_timeout=120
            ) as socket:
                # A socket the server has not welcomed within a minute counts as not opened.
                welcome = (
                    json.loads(await asyncio.wait_for(socket.recv(), 60))
                    if cookie
                    else {"heartbeat": spec["heartbeat"]}
                )
                if cookie and welcome.get("type") != "welcome":
                    raise RuntimeError(welcome)
                opened += 1
                if opened == len(spec["sockets"]):
                    ready.set()
                await ready.wait()
                interval = float(welcome["heartbeat"])
                await asyncio.sleep(random.uniform(0, interval))  # noqa: S311 - spreading, not secrets
                deadline = time.monotonic() + spec["seconds"]
                while time.monotonic() < deadline:
                    sent = time.perf_counter()
                    await socket.send(json.dumps({"v": 1, "type": "ping", "t": int(time.time() * 1000)}))
                    while True:
                        message = json.loads(await asyncio.wait_for(socket.recv(), 30))
                        if message.get("type") == "pong":
                            break
                    rtts.append((time.perf_counter() - sent) * 1000)
                    await asyncio.sleep(interval)
        except Exception as error:
            errors.append(repr(error)[:200])
            if opened + len(errors) >= len(spec["sockets"]):
                ready.set()

    tasks = []
    for url, cookie in spec["sockets"]:
        tasks.append(asyncio.create_task(hold(url, cookie)))
        await asyncio.sleep(1 / ARRIVALS)  # as people arrive, not all in one instant
    await asyncio.wait_for(ready.wait(), 600)
    Path(spec["signal"]).write_text(str(opened))  # all open: the parent measures memory now
    await asyncio.gather(*tasks)
    ordered = sorted(rtts)
    return {
        "opened": opened,
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
        "heartbeats": len(rtts),
        "p50_ms": statistics.median(ordered) if ordered else float("nan"),
        "p99_ms": ordered[int(len(ordered) * 0.99) - 1] if ordered else float("nan"),
    }


def run_load(spec: dict, pid: int) -> tuple[dict, int]:
    """The load client in a process of its own; the server's memory with every socket open."""
    folder = Path(tempfile.mkdtemp(prefix="sockets-load-"))
    spec = {**spec, "signal": str(folder / "open"), "seconds": SECONDS}
    (folder / "spec.json").write_text(json.dumps(spec))
    child = subprocess.Popen(  # noqa: S603 - this file, as the load client
        [sys.executable, __file__, "--load", str(folder / "spec.json"), str(folder / "result.json")], cwd=ROOT
    )
    while not Path(spec["signal"]).exists():
        if child.poll() is not None:
            raise RuntimeError("the load client stopped before opening its sockets")
        time.sleep(0.5)
    time.sleep(3)  # let the server settle with all of them open
    held = resident_kib(pid)
    child.wait(timeout=SECONDS + 600)
    return json.loads((folder / "result.json").read_text()), held


# The baseline: a minimal server answering pings -------------------------------------------------


def baseline_server(port: int) -> None:
    from websockets.asyncio.server import serve

    async def handler(socket: object) -> None:
        async for text in socket:  # type: ignore[attr-defined]
            message = json.loads(text)
            if message.get("type") == "ping":
                await socket.send(json.dumps({"v": 1, "type": "pong", "t": message.get("t")}))  # type: ignore[attr-defined]

    async def main() -> None:
        async with serve(handler, "127.0.0.1", port, max_queue=None):
            await asyncio.Future()

    asyncio.run(main())


# The platform ------------------------------------------------------------------------------------


def prepare(count: int) -> list[tuple[str, str]]:
    """``count`` // 2 sessions about to begin: (appointment id, session key) for each socket."""
    from benchmarks.signaling_relay import prepare_platform

    ids, hosts, client_key = prepare_platform(max(count // 2, 1))
    return [(a, hosts[a]) for a in ids] + [(a, client_key) for a in ids]


def stop(process: subprocess.Popen) -> None:
    """A server still busy with thousands of sockets may not stop at once: then it is killed."""
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def profile_check(pair: tuple[str, str], count: int = 300) -> None:
    """What one socket's re-check costs, in this process: the client's socket checked ``count``
    times, timed and then under cProfile (BENCH_PROFILE names a folder for the profile)."""
    import cProfile
    import pstats

    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from sessions import gate

    appointment_id, key = pair
    user_id = int(SessionStore(key).load()[SESSION_KEY])

    def check() -> None:
        assert (
            gate.still_allowed(user_id=user_id, session_key=key, appointment_id=appointment_id, activity=False) is None
        )

    check()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        check()
    wall, cpu = (time.perf_counter() - wall) / count * 1000, (time.process_time() - cpu) / count * 1000
    print(f"one re-check (gate.still_allowed): {wall:.2f} ms, of which {cpu:.2f} ms of this process's CPU")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(count):
        check()
    profiler.disable()
    folder = Path(os.environ["BENCH_PROFILE"])
    folder.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(folder / "recheck.prof")
    pstats.Stats(profiler).sort_stats("cumtime").print_stats(25)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--load":
        spec = json.loads(Path(sys.argv[2]).read_text())
        Path(sys.argv[3]).write_text(json.dumps(asyncio.run(load(spec))))
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--baseline-server":
        baseline_server(int(sys.argv[2]))
        return
    redis_url = os.environ.get("REDIS_URL", "")
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not redis_url:
        sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL: this benchmark measures the production configuration.")
    print(f"preparing {SOCKETS} sockets' sessions…", flush=True)
    pairs = prepare(SOCKETS)
    if os.environ.get("BENCH_PROFILE"):
        profile_check(pairs[-1])
    os.environ["REDIS_URL"] = redis_url  # the shared set-up code drops it for the other benchmarks

    # The baseline first, holding as many sockets.
    port = free_port()
    base = subprocess.Popen([sys.executable, __file__, "--baseline-server", str(port)], cwd=ROOT)  # noqa: S603
    try:
        time.sleep(1)
        idle = resident_kib(base.pid)
        spec = {
            "origin": f"http://127.0.0.1:{port}",
            "heartbeat": 20,
            "sockets": [(f"ws://127.0.0.1:{port}/", None) for _ in pairs],
        }
        base_result, base_held = run_load(spec, base.pid)
    finally:
        stop(base)

    from benchmarks.signaling_relay import start_daphnes

    ports, processes = start_daphnes(1)
    try:
        (daphne,) = processes
        time.sleep(2)
        idle_daphne = resident_kib(daphne.pid)
        url = f"http://127.0.0.1:{ports[0]}"
        spec = {
            "origin": url,
            "heartbeat": 20,
            "sockets": [(f"ws://127.0.0.1:{ports[0]}/ws/sessions/{a}/", f"sessionid={key}") for a, key in pairs],
        }
        real, real_held = run_load(spec, daphne.pid)
    finally:
        for process in processes:
            stop(process)

    def line(name: str, result: dict, idle_kib: int, held_kib: int) -> float:
        per = (held_kib - idle_kib) / max(result["opened"], 1)
        print(
            f"{name:<30} open {result['opened']:>5} (errors {result['errors']})  resident {idle_kib / 1024:6.1f} → "
            f"{held_kib / 1024:6.1f} MiB  {per:5.1f} KiB/socket  heartbeats {result['heartbeats']:>6}  "
            f"p50 {result['p50_ms']:6.2f} ms  p99 {result['p99_ms']:6.2f} ms"
        )
        if result["first_error"]:
            print(f"{'':<30} first error: {result['first_error']}")
        return per

    print(f"{SOCKETS} sockets held for {SECONDS:.0f} s of heartbeats")
    base_per = line("websockets server (baseline)", base_result, idle, base_held)
    real_per = line("daphne, the signaling consumer", real, idle_daphne, real_held)
    print(
        f"memory per socket: {real_per:.1f} KiB (goal <= {GOAL_KIB}); {real_per / max(base_per, 0.1):.1f}x the baseline"
    )
    print(f"heartbeat p99: {real['p99_ms']:.1f} ms (goal < {GOAL_P99_MS})")


if __name__ == "__main__":
    main()
