"""The hooks through which a lower layer learns of a higher one.

A layer may import only from itself and below (docs/architecture.md), so when records needs what
intake knows (its panel on the chart page) or the audit layer must hear of a refusal the web edge
made, the lower layer declares a hook here and the higher one fills it at start-up, in its
``AppConfig.ready``. Each hook below says who fills it, who asks it and what its functions answer.
Django signals serve the same end where an event is announced rather than asked
(``accounts.signals``, ``records.signals``, ``consent.signals``, ``messaging.signals``).

Types that belong to a higher layer are written ``Any`` here: this module is the ground floor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Hook(Generic[T]):
    """What a higher layer registered, in the order it registered it; the same thing twice counts
    once. ``key``, when given, names each entry: registering another with the same name replaces it."""

    def __init__(self, name: str, key: Callable[[T], str] | None = None) -> None:
        self.name = name
        self._key = key
        self._entries: list[T] = []

    def register(self, entry: T) -> T:
        if self._key is not None:
            name = self._key(entry)
            self._entries = [e for e in self._entries if self._key(e) != name]
        elif entry in self._entries:
            return entry
        self._entries.append(entry)
        return entry

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._entries))


clinical_gates: Hook[Callable[[Any], str | None]] = Hook("clinical_gates")
"""Conditions on a staff member's access to clinical data. Filled by compliance (workforce
training not attested, where the practice blocks). Asked by every clinical door, through
``teletherapy.gates.clinical_refusal``: ``gate(user)`` answers the reason they may not open
clinical data, or None."""

denials: Hook[Callable[..., None]] = Hook("denials")
"""Refused requests. Filled by audit (``audit.middleware.write_denial``). Asked by the web edge
(``teletherapy.errors.report_denial``), once per refused request: ``hook(request, target_type=,
target_id=, reason=)``."""

chart_panels: Hook[Callable[..., dict[str, Any] | None]] = Hook("chart_panels")
"""Sections of the therapist's chart page. Filled by intake (its packets). Asked by records
(``records.panels.chart_panels``): ``source(user=, chart=, access=)`` answers ``{"template": …,
…its context}`` or None."""

portal_panels: Hook[Callable[..., dict[str, Any] | None]] = Hook("portal_panels")
"""Sections of the client's own record page, as ``chart_panels``. Filled by intake."""

documented_sessions: Hook[Callable[..., list[Any]]] = Hook("documented_sessions")
"""Sessions a progress note can document. Filled by sessions (``sessions_held``). Asked by records
(``records.documented``): ``source(client=, therapist=, session_id=None)`` answers the client's
sessions with that therapist that have begun and were not cancelled (``DocumentedSession``),
newest first, or the one with that id."""

upcoming_sessions: Hook[Callable[..., Iterable[Any]]] = Hook("upcoming_sessions")
"""Appointments a consent may be needed for. Filled by sessions (``appointments_upcoming_for``).
Asked by consent (``consent.selectors.consent_todo_for``): ``source(user=)`` answers that
person's upcoming appointments."""

join_now: Hook[Callable[..., str | None]] = Hook("join_now")
"""Where a client joins a session that is open to join now. Filled by sessions
(``join_address_now``). Asked by consent's sign-in destination: a client signing in for a session
open now lands on its Join page, which leads through any consent still missing and back."""

joint_work: Hook[Callable[..., bool]] = Hook("joint_work")
"""Whether a client is seen with others (couples or family sessions), so the couples agreement
applies to them. Filled by sessions (``client_seen_jointly``). Asked by consent
(``consent.selectors.joint_work_for``): ``source(client=)`` answers True if the client has a
joint session that was not cancelled, past or to come."""

chart_filters: Hook[tuple[str, str, Callable[..., set[Any]]]] = Hook("chart_filters", key=lambda entry: entry[0])
"""Ways to narrow the therapist's charts list. Filled by sessions (seen this week, needs a note,
consents missing). Asked by records (the charts list): each ``(key, label, clients)``, where
``clients(user)`` answers the ids of that therapist's clients the filter keeps."""

copy_sections: Hook[Any] = Hook("copy_sections", key=lambda section: section.key)
"""Sections of the client's copy of the record. Filled by intake, messaging and sessions (and
records' own). Asked by ``records.copy``: each a ``records.copy.CopySection``, named by its key,
that says the need it carries, how to gather its items and how a person reads one."""

charge_payments: Hook[Callable[[Any], dict[Any, Any]]] = Hook("charge_payments")
"""What has been paid of each of a chart's charges. Filled by billing
(``billing.services.ledger.paid_by_charge``). Asked by records (the superbill):
``source(chart)`` answers ``{charge id: amount paid}``; none filled, nothing is known paid."""
