"""No TOTP secret or backup code is ever readable in the raw database."""

from __future__ import annotations

import re

import pytest
from django.db import connection

from accounts.models import TOTPDevice
from teletherapy.keyring import CiphertextIntegrityError
from tests.conftest import enrolling_session, totp_secret_of

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def _dump_all_text() -> str:
    """Every text value of every table, as an attacker with a database dump would see it."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')
            for row in cursor.fetchall():
                chunks.extend(str(value) for value in row if value is not None)
    return "\n".join(chunks)


def test_enrollment_leaves_no_plain_secret_or_code_in_the_database(make_user):
    user = make_user("client", mfa=False)
    client = enrolling_session(user)
    page = client.get("/mfa/enroll/").content.decode()
    secret = totp_secret_of(page)
    from tests.conftest import totp_code

    result = client.post("/mfa/enroll/", {"code": totp_code(secret)}).content.decode()
    codes = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", result)
    assert len(codes) == 10
    dump = _dump_all_text()
    assert secret not in dump
    assert secret.lower() not in dump.lower()
    for code in codes:
        assert code not in dump and code.replace("-", "") not in dump
    raw = TOTPDevice.objects.values_list("secret", flat=True).get(user=user)
    assert raw.startswith("tt1:")


def test_a_sealed_secret_cannot_be_moved_to_another_device(make_user):
    first, second = make_user("client"), make_user("client")
    sealed = TOTPDevice.objects.values_list("secret", flat=True).get(user=first)
    TOTPDevice.objects.filter(user=second).update(secret=sealed)
    with pytest.raises(CiphertextIntegrityError):
        TOTPDevice.objects.get(user=second).secret  # noqa: B018
