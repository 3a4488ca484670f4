"""Network namespaces for calls on bad networks: a namespace for one side, a veth link from here
to it, and the impairments this kernel offers (nftables for loss, tc tbf for bandwidth, the link
set down for an outage). The kernel has no netem qdisc, so delay is added where the media is
relayed: a delay line in front of the TURN server holds each datagram of the client's side for a
set time each way. Used by tests/test_call_impairment.py and benchmarks/call_impairment.py;
everything but the delay line needs root."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Link:
    namespace: str
    host_side: str
    client_side: str
    host_ip: str
    client_ip: str

    def in_namespace(self, *command: str) -> None:
        subprocess.run(["ip", "netns", "exec", self.namespace, *command], check=True)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True)


def can_make_namespaces() -> bool:
    if os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("tc") or not shutil.which("nft"):
        return False
    probe = f"ttp{secrets.token_hex(3)}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode == 0
    if made:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return made


@contextmanager
def client_link():
    """A namespace for the client, and a veth link from here to it (10.213.N.1 here, .2 there)."""
    name = f"tt{secrets.token_hex(3)}"
    octet = secrets.randbelow(200) + 20
    link = Link(name, f"{name}h", f"{name}c", f"10.213.{octet}.1", f"10.213.{octet}.2")
    _ip("netns", "add", name)
    try:
        _ip("link", "add", link.host_side, "type", "veth", "peer", "name", link.client_side)
        _ip("link", "set", link.client_side, "netns", name)
        _ip("addr", "add", f"{link.host_ip}/30", "dev", link.host_side)
        _ip("link", "set", link.host_side, "up")
        link.in_namespace("ip", "addr", "add", f"{link.client_ip}/30", "dev", link.client_side)
        link.in_namespace("ip", "link", "set", link.client_side, "up")
        link.in_namespace("ip", "link", "set", "lo", "up")
        yield link
    finally:
        subprocess.run(["ip", "link", "del", link.host_side], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


@contextmanager
def lossy(link: Link, percent: int):
    """Drop this share of the UDP packets (the media) going in and out of the client's namespace."""
    rules = (
        "add table inet impair",
        "add chain inet impair out { type filter hook output priority 0 ; }",
        "add chain inet impair in { type filter hook input priority 0 ; }",
        f"add rule inet impair out meta l4proto udp numgen random mod 100 < {percent} drop",
        f"add rule inet impair in meta l4proto udp numgen random mod 100 < {percent} drop",
    )
    for rule in rules:
        link.in_namespace("nft", rule)
    try:
        yield
    finally:
        link.in_namespace("nft", "delete table inet impair")


@contextmanager
def squeezed(link: Link, rate: str):
    """The link's bandwidth each way (tc tbf on both ends)."""
    shape = ("root", "tbf", "rate", rate, "burst", "16kbit", "latency", "400ms")
    subprocess.run(["tc", "qdisc", "add", "dev", link.host_side, *shape], check=True)
    link.in_namespace("tc", "qdisc", "add", "dev", link.client_side, *shape)
    try:
        yield
    finally:
        subprocess.run(["tc", "qdisc", "del", "dev", link.host_side, "root"], check=False)
        subprocess.run(["ip", "netns", "exec", link.namespace, "tc", "qdisc", "del", "dev", link.client_side, "root"])


def chromium_in(link: Link, chromium: str, folder: Path) -> Path:
    """A launcher that starts Chromium inside the link's namespace (for Playwright)."""
    wrapper = folder / "chromium-in-namespace"
    wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {link.namespace} {chromium} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def secure_origin_flag(url: str) -> str:
    """Camera, microphone and WebRTC want a secure origin; the link's address is one for this run."""
    return f"--unsafely-treat-insecure-origin-as-secure={url}"


class _Upstream(asyncio.DatagramProtocol):
    """One sender's own socket towards the target, so the target sees one address per sender."""

    def __init__(self, line: _DelayLine, sender: tuple[str, int], delay: float) -> None:
        self.line, self.sender, self.delay = line, sender, delay
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:  # type: ignore[no-untyped-def]
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:  # type: ignore[no-untyped-def]
        self.line.later(self.delay, self.line.front_send, data, self.sender)


class _DelayLine(asyncio.DatagramProtocol):
    def __init__(self, target: tuple[str, int], delay: float, delayed_from: str | None) -> None:
        self.target, self.delay, self.delayed_from = target, delay, delayed_from
        self.upstreams: dict[tuple[str, int], _Upstream] = {}
        self.pending: dict[tuple[str, int], list[bytes]] = {}
        self.transport: asyncio.DatagramTransport | None = None
        self.loop = asyncio.get_running_loop()
        self.datagrams = 0
        self.address: tuple[str, int] = ("", 0)

    def connection_made(self, transport) -> None:  # type: ignore[no-untyped-def]
        self.transport = transport
        self.address = transport.get_extra_info("sockname")[:2]

    def later(self, delay: float, send, *args) -> None:  # type: ignore[no-untyped-def]
        if delay:
            self.loop.call_later(delay, send, *args)
        else:
            send(*args)

    def front_send(self, data: bytes, sender: tuple[str, int]) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(data, sender)

    def datagram_received(self, data: bytes, sender) -> None:  # type: ignore[no-untyped-def]
        self.datagrams += 1
        upstream = self.upstreams.get(sender)
        if upstream is None:
            if sender in self.pending:
                self.pending[sender].append(data)
                return
            self.pending[sender] = [data]
            self.loop.create_task(self._open(sender))
            return
        self.later(self._delay_for(sender), self._send_up, upstream, data)

    def _delay_for(self, sender: tuple[str, int]) -> float:
        return self.delay if self.delayed_from is None or sender[0] == self.delayed_from else 0.0

    @staticmethod
    def _send_up(upstream: _Upstream, data: bytes) -> None:
        if upstream.transport is not None and not upstream.transport.is_closing():
            upstream.transport.sendto(data)

    async def _open(self, sender: tuple[str, int]) -> None:
        delay = self._delay_for(sender)
        _transport, upstream = await self.loop.create_datagram_endpoint(
            lambda: _Upstream(self, sender, delay), remote_addr=self.target
        )
        self.upstreams[sender] = upstream
        for data in self.pending.pop(sender, []):
            self.later(delay, self._send_up, upstream, data)


@contextmanager
def delay_line(
    listen: tuple[str, int], target: tuple[str, int], *, delay: float, delayed_from: str | None = None
) -> Iterator[_DelayLine]:
    """A UDP relay from ``listen`` (port 0: any free one; see ``.address``) to ``target`` that
    holds every datagram ``delay`` seconds on its way in and again on its way back: the one-way
    delay a long or congested path adds, which netem would give where the kernel has it.
    Only senders at ``delayed_from`` are held (all senders if it is None); the others pass
    straight through."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    line: dict[str, _DelayLine] = {}

    async def start() -> None:
        _transport, protocol = await loop.create_datagram_endpoint(
            lambda: _DelayLine(target, delay, delayed_from), local_addr=listen
        )
        line["it"] = protocol

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the delay line did not start")
    try:
        yield line["it"]
    finally:

        def shut() -> None:
            for upstream in line["it"].upstreams.values():
                if upstream.transport is not None:
                    upstream.transport.close()
            if line["it"].transport is not None:
                line["it"].transport.close()
            loop.call_later(0.05, loop.stop)

        loop.call_soon_threadsafe(shut)
        thread.join(10)
        loop.close()
