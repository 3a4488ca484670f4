"""Network namespaces for calls on bad networks: a namespace for one side, a veth link from here
to it, and the impairments this kernel offers (nftables for loss, tc tbf for bandwidth, the link
set down for an outage; no netem qdisc, so no delay). Used by tests/test_call_impairment.py and
benchmarks/call_impairment.py; everything needs root."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
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
