"""A browser and system in words the product chooses, from a User-Agent header. The header is
whatever the person (or someone signing in as them) sent, so it is never repeated: only names
from the lists below reach an e-mail or a page."""

from __future__ import annotations

import re

# Checked in order: Edge and Opera also say "Chrome", Chrome also says "Safari".
BROWSERS = (
    (re.compile(r"\bEdg(e|A|iOS)?/"), "Edge"),
    (re.compile(r"\b(OPR|Opera)/"), "Opera"),
    (re.compile(r"\bSamsungBrowser/"), "Samsung Internet"),
    (re.compile(r"\b(Firefox|FxiOS)/"), "Firefox"),
    (re.compile(r"\b(Chrome|Chromium|CriOS)/"), "Chrome"),
    (re.compile(r"\bVersion/[\d.]+.*\bSafari/"), "Safari"),
)
SYSTEMS = (
    (re.compile(r"\biPhone\b"), "an iPhone"),
    (re.compile(r"\biPad\b"), "an iPad"),
    (re.compile(r"\bAndroid\b"), "Android"),
    (re.compile(r"\bCrOS\b"), "ChromeOS"),
    (re.compile(r"\bWindows\b"), "Windows"),
    (re.compile(r"\bMac OS X\b|\bMacintosh\b"), "a Mac"),
    (re.compile(r"\bLinux\b"), "Linux"),
)


def describe_browser(user_agent: str) -> str:
    """ "Chrome on Windows", "Safari on an iPhone", …, or "an unrecognized browser"."""
    agent = user_agent[:512]
    browser = next((name for pattern, name in BROWSERS if pattern.search(agent)), "")
    system = next((name for pattern, name in SYSTEMS if pattern.search(agent)), "")
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or f"a browser on {system}"
    return "an unrecognized browser"
