"""Passkeys through the platform's own endpoints, with a software authenticator; and the rule
that a password alone never reaches enrolment."""

from __future__ import annotations

import datetime as dt
import json
import re
from urllib.parse import urlsplit

import pytest
import time_machine
from asgiref.sync import sync_to_async
from django.core import mail
from django.test import Client

from accounts.models import PasskeyDevice, Role, TOTPDevice
from accounts.rules import REAUTH_SESSION_KEY
from accounts.services.enrollment import enrollment_link_create
from accounts.services.passkeys import relying_party
from audit.models import Action, AuditEvent
from tests.conftest import PASSWORD, enrolling_session, password_only_session, totp_code
from tests.webauthn_soft import SoftPasskey

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
OPTIONS = "/mfa/passkey/options/"


def passkey() -> SoftPasskey:
    rp_id, origin = relying_party()
    return SoftPasskey(rp_id=rp_id, origin=origin)


def options(client: Client, purpose: str) -> tuple[int, dict]:
    response = client.post(OPTIONS, json.dumps({"purpose": purpose}), content_type="application/json")
    return response.status_code, response.json()


def enroll(client: Client, key: SoftPasskey, url: str = "/mfa/enroll/", name: str = "My phone"):
    status, body = options(client, "register")
    assert status == 200, body
    return client.post(url, {"credential": json.dumps(key.create(body)), "name": name})


def use(client: Client, key: SoftPasskey, url: str, purpose: str, **tweak):
    status, body = options(client, purpose)
    assert status == 200, body
    return client.post(url, {"credential": json.dumps(key.get(body, **tweak))})


def with_passkey(make_user, role=Role.CLIENT):
    """An account whose only second factor is a passkey, enrolled through the pages."""
    user = make_user(role, mfa=False)
    key = passkey()
    response = enroll(enrolling_session(user), key)
    assert response.status_code == 200 and b"backup codes" in response.content
    return user, key


# Enrolment that cannot be taken over ---------------------------------------------------------


def test_a_password_alone_never_reaches_enrolment(make_user):
    user = make_user(Role.CLIENT, mfa=False)
    intruder = password_only_session(user)
    page = intruder.get("/mfa/enroll/")
    assert page.status_code == 200 and b"Check your e-mail" in page.content
    assert b"totp-secret" not in page.content and b"otpauth://" not in page.content
    # No authenticator, no passkey, no challenge, and nothing else.
    secret = TOTPDevice.objects.filter(user=user).values_list("secret", flat=True).first()
    assert intruder.post("/mfa/enroll/", {"code": "123456"}).status_code == 200
    assert options(intruder, "register")[0] == 403
    assert intruder.post("/mfa/enroll/", {"credential": json.dumps(passkey().create({"user": {"id": "AA"},
                                          "challenge": "AA"})), "name": "Mine"}).status_code == 200  # fmt: skip
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists() and not PasskeyDevice.objects.exists()
    assert secret is None  # the enrolment page never even made a key for this session to see
    for url in ("/", "/account/security/", "/records/portal/", "/api/v1/me/"):
        assert intruder.get(url).status_code in (302, 403)
    # The link goes to the account's own address; it works once, for this account, for 30 minutes.
    intruder.post("/mfa/enroll/", {"send_link": "1"})
    [sent] = mail.outbox
    assert sent.to == [user.email]
    path = urlsplit(re.search(r"(http://\S+/mfa/enroll/link/\S+/)", sent.body).group(1)).path
    other = make_user(Role.CLIENT, mfa=False)
    assert password_only_session(other).get(path).status_code == 302
    assert b"Check your e-mail" in password_only_session(other).get("/mfa/enroll/").content
    owner = password_only_session(user)
    owner.get(path)
    assert b"totp-secret" in owner.get("/mfa/enroll/").content
    again = password_only_session(user)
    again.get(path)  # used already
    assert b"Check your e-mail" in again.get("/mfa/enroll/").content
    late = enrollment_link_create(user=user)
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=31)):
        stale = password_only_session(user)
        stale.get(urlsplit(late).path)
        assert b"Check your e-mail" in stale.get("/mfa/enroll/").content
    assert AuditEvent.objects.filter(action=Action.ENROLL_LINK_USED, outcome="denied").count() >= 2


def test_the_invitation_goes_straight_on_to_enrolment_and_a_passkey(
    login_as, admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        login_as(admin).post("/practice/invitations/", {"email": "new@example.org", "role": "therapist"})
    link = re.search(r"http://[^/]+(/invite/[^/\s]+/)", mail.outbox[-1].body).group(1)
    browser = Client()
    joined = browser.post(link, {"full_name": "Nia New", "password": PASSWORD, "confirm_password": PASSWORD})
    assert joined["Location"] == "/mfa/enroll/"
    page = browser.get("/mfa/enroll/").content.decode()
    assert "Create a passkey" in page and "Or use an authenticator app" in page
    assert 'href="otpauth://totp/' in page and "figure" in page
    key = passkey()
    codes_page = enroll(browser, key).content.decode()
    assert len(re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", codes_page)) == 10
    assert "I have saved my backup codes" in codes_page and "Download as a text file" in codes_page
    assert browser.get("/").status_code == 200  # signed in, verified by the passkey
    device = PasskeyDevice.objects.get(user__email="new@example.org")
    assert device.name == "My phone" and device.sign_count == 0
    event = AuditEvent.objects.get(action=Action.MFA_ENROLL, actor_id=device.user_id)
    assert event.details["method"] == "passkey" and event.details["first"] is True


# Using a passkey ---------------------------------------------------------------------------------


def test_signing_in_and_re_authenticating_with_a_passkey(make_user):
    user, key = with_passkey(make_user)
    browser = password_only_session(user)
    page = browser.get("/mfa/").content.decode()
    assert "Use my passkey" in page and "backup codes" in page
    response = use(browser, key, "/mfa/", "sign_in")
    assert response.status_code == 302 and browser.get("/").status_code == 200
    verify = AuditEvent.objects.filter(action=Action.MFA_VERIFY, actor_id=user.pk).latest("id")
    assert verify.details["method"] == "passkey"
    assert PasskeyDevice.objects.get(user=user).sign_count == 1
    # Re-authentication with the passkey opens the sensitive pages again.
    session = browser.session
    session[REAUTH_SESSION_KEY] = 0
    session.save()
    assert browser.get("/account/backup-codes/")["Location"].startswith("/account/reauth/")
    assert "Use my passkey" in browser.get("/account/reauth/").content.decode()
    assert use(browser, key, "/account/reauth/?next=/account/backup-codes/", "reauth")["Location"] == (
        "/account/backup-codes/"
    )
    assert browser.get("/account/backup-codes/").status_code == 200
    assert AuditEvent.objects.filter(action=Action.REAUTHENTICATE, actor_id=user.pk, details__method="passkey")


def test_what_a_passkey_will_not_do(make_user):
    user, key = with_passkey(make_user)
    for tweak in ({"origin": "https://phish.example"}, {"rp_id": "phish.example"}):
        browser = password_only_session(user)
        use(browser, key, "/mfa/", "sign_in", **tweak)
        assert browser.get("/").status_code == 302, tweak
    # Someone else's passkey does not open this account.
    _other, other_key = with_passkey(make_user)
    browser = password_only_session(user)
    _status, body = options(browser, "sign_in")
    browser.post("/mfa/", {"credential": json.dumps(other_key.get(body))})
    assert browser.get("/").status_code == 302
    # A challenge works once: the same answer again is refused.
    browser = password_only_session(user)
    _status, body = options(browser, "sign_in")
    answer = json.dumps(key.get(body))
    browser.post("/mfa/", {"credential": answer})
    replay = password_only_session(user)
    replay.post("/mfa/", {"credential": answer})
    assert replay.get("/").status_code == 302
    # Junk of every kind is a plain refusal, never a 500.
    for junk in ("", "null", "[]", '{"id": 5}', '{"id": "x"}', "x" * 5000, '{"id": "AA", "response": []}'):
        browser = password_only_session(user)
        options(browser, "sign_in")
        assert browser.post("/mfa/", {"credential": junk}).status_code in (200, 302)
        assert browser.get("/").status_code == 302
    assert options(Client(), "sign_in")[0] == 403 and options(Client(), "nonsense")[0] == 403
    bad = Client().post(OPTIONS, "not json", content_type="application/json")
    assert bad.status_code == 403


def test_a_cloned_passkey_with_a_stale_counter_is_refused_and_flagged(make_user):
    user, key = with_passkey(make_user)
    copy = key.clone()  # taken while the counter was at 0
    for _ in range(3):
        use(password_only_session(user), key, "/mfa/", "sign_in")
    assert PasskeyDevice.objects.get(user=user).sign_count == 3
    thief = password_only_session(user)
    response = use(thief, copy, "/mfa/", "sign_in")
    assert thief.get("/").status_code == 302
    assert "copy" in thief.get(response["Location"]).content.decode()
    refused = AuditEvent.objects.filter(action=Action.MFA_FAILURE, actor_id=user.pk).latest("id")
    assert refused.details["reason"] == "sign_count_regression" and refused.flagged
    assert PasskeyDevice.objects.get(user=user).sign_count == 3


def test_removing_passkeys_needs_re_authentication_and_never_the_last_factor(make_user, login_as):
    user, key = with_passkey(make_user)
    browser = password_only_session(user)
    use(browser, key, "/mfa/", "sign_in")
    device = PasskeyDevice.objects.get(user=user)
    url = f"/account/passkeys/{device.pk}/remove/"
    assert "Remove the passkey" in browser.get(url).content.decode()
    browser.post(url)
    assert PasskeyDevice.objects.filter(user=user).count() == 1  # the only second factor stays
    # A second passkey, added after re-authentication, makes the first removable.
    second = passkey()
    enroll(browser, second, url="/account/passkeys/add/", name="Laptop")
    assert sorted(PasskeyDevice.objects.filter(user=user).values_list("name", flat=True)) == ["Laptop", "My phone"]
    security = browser.get("/account/security/").content.decode()
    assert "Laptop" in security and "My phone" in security and "last used" in security
    session = browser.session
    session[REAUTH_SESSION_KEY] = 0
    session.save()
    assert browser.post(url)["Location"].startswith("/account/reauth/")
    use(browser, second, "/account/reauth/", "reauth")
    browser.post(url)
    assert list(PasskeyDevice.objects.filter(user=user).values_list("name", flat=True)) == ["Laptop"]
    assert AuditEvent.objects.filter(action=Action.MFA_DEVICE_REMOVED, actor_id=user.pk).count() == 1
    # Someone else cannot remove it.
    survivor = PasskeyDevice.objects.get(user=user)
    login_as(make_user(Role.CLIENT)).post(f"/account/passkeys/{survivor.pk}/remove/")
    assert PasskeyDevice.objects.filter(pk=survivor.pk).exists()


def test_passwordless_sign_in_only_where_the_practice_allows_it(make_user, login_as, admin, practice):
    _user, key = with_passkey(make_user)
    browser = Client()
    assert b"Sign in with a passkey" not in browser.get("/login/").content
    use(browser, key, "/login/", "passwordless")
    assert browser.get("/").status_code == 302
    assert AuditEvent.objects.filter(action=Action.LOGIN_FAILURE, details__reason="passwordless_off").exists()
    staff = login_as(admin)
    staff.post("/practice/sign-in-policy/", {"passwordless_sign_in": "1"})
    practice.refresh_from_db()
    assert practice.passwordless_sign_in and AuditEvent.objects.filter(action=Action.SIGN_IN_POLICY_CHANGE).exists()
    therapist = login_as(make_user(Role.THERAPIST))
    assert therapist.post("/practice/sign-in-policy/", {"passwordless_sign_in": "0"}).status_code == 403
    practice.refresh_from_db()
    assert practice.passwordless_sign_in
    browser = Client()
    assert b"Sign in with a passkey" in browser.get("/login/").content
    assert use(browser, key, "/login/", "passwordless").status_code == 302
    assert browser.get("/").status_code == 200
    # A passkey that did not check who is holding it is not enough without the password.
    lazy = Client()
    key.verifies_user = False
    use(lazy, key, "/login/", "passwordless")
    assert lazy.get("/").status_code == 302


def test_a_practice_can_require_passkeys_of_its_staff(make_user, practice, therapist, client_user):
    practice.passkeys_required_for_staff = True
    practice.save()
    browser = password_only_session(therapist)
    response = browser.post("/mfa/", {"code": totp_code(therapist.totp_secret)})
    assert response["Location"].startswith("/account/passkeys/add/?required=1")
    assert "Your practice asks everyone on its staff" in browser.get(response["Location"]).content.decode()
    enroll(browser, passkey(), url="/account/passkeys/add/", name="Work laptop")
    assert PasskeyDevice.objects.filter(user=therapist).exists()
    # Clients are not asked.
    client = password_only_session(client_user)
    assert client.post("/mfa/", {"code": totp_code(client_user.totp_secret)})["Location"] == "/"


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_signaling_socket_accepts_a_passkey_verified_session(room, therapist, client_user):
    from tests.signaling import open_socket, receive

    def passkey_session():
        TOTPDevice.objects.filter(user=therapist).delete()
        key = passkey()
        enroll(enrolling_session(therapist), key)
        browser = password_only_session(therapist)
        use(browser, key, "/mfa/", "sign_in")
        return browser

    browser = await sync_to_async(passkey_session)()
    socket = await open_socket(room.pk, browser)
    welcome = await receive(socket)
    assert welcome["type"] == "welcome" and welcome["role"] == "therapist"
    await socket.disconnect()


def test_a_locked_out_account_cannot_sign_in_with_a_passkey_either(make_user, practice, settings):
    """Password guesses lock the account; a passkey does not walk around the lock."""
    practice.passwordless_sign_in = True
    practice.save()
    user, key = with_passkey(make_user)
    settings.LOCKOUT_THRESHOLD = 2
    guesser = Client()
    for _ in range(4):
        guesser.post("/login/", {"email": user.email, "password": "not-the-password"})
    browser = Client()
    answered = use(browser, key, "/login/", "passwordless")
    assert answered.status_code == 302 and browser.get("/").status_code == 302  # not signed in
    assert AuditEvent.objects.filter(
        action=Action.LOGIN_FAILURE, details__reason="locked", details__method="passkey"
    ).exists()


def test_requiring_passkeys_of_staff_leaves_a_grace_period_then_only_a_passkey_signs_them_in(
    login_as, admin, therapist, colleague, client_user, practice
):
    """Turned on by the admin: a therapist without a passkey still signs in with their app for
    PASSKEY_GRACE_DAYS (and is led to add one); after that the app's code is refused and only a
    passkey, or a backup code (the way back in), signs them in. Someone who has a passkey uses it
    from the start. Clients are not concerned."""
    import datetime as dt

    import time_machine
    from django.utils import timezone

    login_as(admin).post("/practice/sign-in-policy/", {"passkeys_required_for_staff": "1"})
    practice.refresh_from_db()
    assert practice.passkeys_required_for_staff and practice.passkeys_required_since is not None
    start = timezone.now()
    with time_machine.travel(start + dt.timedelta(days=6), tick=False):
        browser = password_only_session(therapist)
        answered = browser.post("/mfa/", {"code": totp_code(therapist.totp_secret)})
        assert answered["Location"].startswith("/account/passkeys/add/?required=1")
        # The colleague adds one now.
        key = passkey()
        helped = password_only_session(colleague)
        assert helped.post("/mfa/", {"code": totp_code(colleague.totp_secret)}).status_code == 302
        enroll(helped, key, url="/account/passkeys/add/", name="Work laptop")
        assert PasskeyDevice.objects.filter(user=colleague).exists()
    with time_machine.travel(start + dt.timedelta(days=6, minutes=5), tick=False):
        # Having a passkey, the colleague's app code is refused within the grace period too.
        browser = password_only_session(colleague)
        refused = browser.post("/mfa/", {"code": totp_code(colleague.totp_secret)})
        assert refused.status_code == 200 and "signs its staff in with a passkey" in refused.content.decode()
        assert use(browser, key, "/mfa/", "sign_in").status_code == 302
        assert browser.get("/").status_code == 200
    with time_machine.travel(start + dt.timedelta(days=8), tick=False):
        browser = password_only_session(therapist)
        refused = browser.post("/mfa/", {"code": totp_code(therapist.totp_secret)})
        assert refused.status_code == 200 and "signs its staff in with a passkey" in refused.content.decode()
        assert browser.get("/").status_code == 302  # not signed in
        assert AuditEvent.objects.filter(action=Action.MFA_FAILURE, details__reason="passkey_required").exists()
        # A client of the same practice: unchanged.
        client = password_only_session(client_user)
        assert client.post("/mfa/", {"code": totp_code(client_user.totp_secret)})["Location"] == "/"


def test_a_synced_first_passkey_is_not_made_to_save_backup_codes_but_a_device_bound_one_is(make_user):
    rp_id, origin = relying_party()
    synced_user = make_user(Role.CLIENT, mfa=False)
    browser = enrolling_session(synced_user)
    done = enroll(browser, SoftPasskey(rp_id=rp_id, origin=origin, synced=True))
    # Straight on, signed in, told plainly what protects the account and how to get codes.
    assert done.status_code == 302 and "/mfa/" not in done["Location"]
    page = browser.get(done["Location"], follow=True).content.decode()
    assert "synced to your other devices" in page and "Security page" in page
    assert PasskeyDevice.objects.get(user=synced_user).backed_up
    assert not AuditEvent.objects.filter(action=Action.BACKUP_CODES_REGENERATED, actor_id=synced_user.pk).exists()
    # Codes stay one step away, and the home page does not nag about codes never made.
    assert "Make new backup codes" in browser.get("/account/security/").content.decode()
    assert "backup codes left" not in browser.get("/").content.decode()

    bound_user = make_user(Role.CLIENT, mfa=False)
    shown = enroll(enrolling_session(bound_user), passkey())
    assert shown.status_code == 200 and "I have saved my backup codes" in shown.content.decode()


def test_the_home_page_reminds_only_someone_whose_backup_codes_run_low(make_user, login_as):
    from django.utils import timezone

    from accounts.models import BackupCode
    from accounts.services.mfa import _backup_codes_replace

    user = make_user(Role.CLIENT)
    assert "backup codes left" not in login_as(user).get("/").content.decode()  # never made any
    _backup_codes_replace(user=user)
    assert "backup codes left" not in login_as(user).get("/").content.decode()  # ten left
    for code in BackupCode.objects.filter(device__user=user).order_by("pk")[:8]:
        code.used_at = timezone.now()
        code.save(update_fields=["used_at"])
    assert "You have 2 backup codes left" in login_as(user).get("/").content.decode()
