"""The ready-made forms every practice starts with, published as version 1. A practice edits
them by drafting a new version; packets already sent keep the version they were sent with."""

from __future__ import annotations

from typing import Any

from intake.models import FormPurpose

CONTACT = ["Phone call", "Text message", "E-mail", "A message here"]


def _f(label: str, key: str, kind: str, *, required: bool = False, chart: str = "", **rest: Any) -> dict[str, Any]:
    return {"label": label, "key": key, "kind": kind, "required": required, "chart": chart, **rest}


READY_MADE: list[tuple[str, str, list[dict[str, Any]]]] = [
    (
        FormPurpose.DEMOGRAPHICS,
        "About you",
        [
            _f("Legal name", "legal_name", "text", required=True),
            _f("Name you would like us to use", "preferred_name", "text"),
            _f("Pronouns", "pronouns", "text", help="For example she/her, he/him, they/them."),
            _f("Date of birth", "date_of_birth", "date", required=True, chart="date_of_birth"),
            _f("Phone", "phone", "text", required=True, chart="phone"),
            _f("Home address", "address", "paragraph", chart="address"),
            _f("How should we contact you?", "contact_by", "choice", required=True, choices=CONTACT),
            _f("May we leave a voicemail or a message that says who we are?", "voicemail", "yes_no", required=True),
        ],
    ),
    (
        FormPurpose.HISTORY,
        "Your history",
        [
            _f("What brings you to therapy now?", "reason", "paragraph", required=True),
            _f(
                "How long has this been going on?",
                "how_long",
                "choice",
                choices=["Less than a month", "One to six months", "Six months to a year", "More than a year"],
            ),
            _f("Have you seen a therapist or counsellor before?", "therapy_before", "yes_no", required=True),
            _f("Medicines you take now", "medicines", "paragraph", help="Name and dose, if you know it."),
            _f("Physical health conditions we should know about", "conditions", "paragraph"),
            _f("Have you ever stayed in hospital for your mental health?", "hospital", "yes_no"),
            _f("Alcohol or drug use", "substances", "choice", choices=["Never", "Now and then", "Weekly", "Daily"]),
            _f(
                "How stressed do you feel these days?",
                "stress",
                "scale",
                low=0,
                high=10,
                help="0 is not at all, 10 is extremely.",
            ),
            _f("What would you like to be different after therapy?", "goals", "paragraph"),
        ],
    ),
    (
        FormPurpose.EMERGENCY_CONTACT,
        "Emergency contact",
        [
            _f("Their name", "contact_name", "text", required=True, chart="emergency_contact"),
            _f("How they are related to you", "contact_relationship", "text", required=True, chart="emergency_contact"),
            _f("Their phone", "contact_phone", "text", required=True, chart="emergency_contact"),
            _f("May we contact them if we believe you are in danger?", "contact_consent", "yes_no", required=True),
        ],
    ),
    (
        FormPurpose.INSURANCE,
        "Insurance",
        [
            _f(
                "How will you pay?",
                "payment",
                "choice",
                required=True,
                choices=["Through my insurance", "I will pay myself"],
            ),
            _f("Insurance company", "insurer", "text"),
            _f("Member ID", "member_id", "text"),
            _f("Group number", "group_number", "text"),
            _f("Name of the policy holder", "holder_name", "text"),
            _f(
                "The policy holder is",
                "holder_is",
                "choice",
                choices=["Me", "My spouse or partner", "My parent", "Someone else"],
            ),
            _f("Policy holder's date of birth", "holder_birth_date", "date"),
        ],
    ),
]
