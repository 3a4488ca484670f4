"""Words people read are English: the names of things (the fact sheet lists what is sealed by
their plural names) are real plurals, not a word with an "s" stuck on."""

from __future__ import annotations

import re

import pytest
from django.apps import apps

pytestmark = pytest.mark.embedded

# What Django makes when it adds an "s" to a word that does not take one.
WRONG = re.compile(r"(?:ss|[^aeiou]ys|ums|ies s|seriess|sis|chs|shs|xs)$")


def test_every_model_of_ours_has_a_real_plural():
    ours = [m for m in apps.get_models() if m.__module__.split(".")[0] not in ("django", "django_otp", "otp")]
    wrong = {
        m._meta.label: str(m._meta.verbose_name_plural) for m in ours if WRONG.search(str(m._meta.verbose_name_plural))
    }
    assert not wrong, wrong


def test_the_rule_catches_what_django_would_write():
    for bad in ("emergency accesss", "incident entrys", "note addendums", "appointment seriess", "alert ruless"):
        assert WRONG.search(bad), bad
    for good in ("emergency accesses", "incident entries", "note addenda", "appointment series", "check-ins"):
        assert not WRONG.search(good), good


def test_settings_speak_in_words_with_the_variables_one_click_away(login_as, admin, settings):
    settings.ICE_TURN_URLS, settings.TURN_SHARED_SECRET = [], ""
    page = login_as(admin).get("/sessions/settings/").content.decode()
    said, _, folded = page.partition("<details>")
    assert "no relay for video (a TURN server) yet" in said
    assert "ICE_TURN_URLS" not in said and "ICE_TURN_URLS" in folded.split("</details>")[0]
