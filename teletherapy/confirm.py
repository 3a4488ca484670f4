"""Weighty actions ask first: a POST without ``confirmed=yes`` is answered with a page that says
what will happen and offers the same request again, confirmed, or a way back. It works without
JavaScript, and the action itself stays a single POST to one view."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

CONFIRM_FIELD = "confirmed"


def confirmed(request: HttpRequest) -> bool:
    return request.POST.get(CONFIRM_FIELD) == "yes"


def ask(
    request: HttpRequest,
    *,
    title: str,
    consequences: list[str],
    button: str,
    back: str,
    undo: str = "",
    danger: bool = True,
) -> HttpResponse:
    """The confirmation page for the POST in ``request``: what will happen, whether and how it can
    be undone, the button that does it (posting the same fields again, confirmed) and ``back``."""
    keep = [(name, value) for name, value in request.POST.items() if name not in ("csrfmiddlewaretoken", CONFIRM_FIELD)]
    context = {
        "title": title,
        "consequences": consequences,
        "button": button,
        "back": back,
        "undo": undo,
        "danger": danger,
        "keep": keep,
        "action": request.path,
    }
    return render(request, "confirm.html", context)
