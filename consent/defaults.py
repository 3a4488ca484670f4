"""Plain-language starting texts, one per kind. A practice edits and republishes them as its own."""

from consent.models import ConsentKind

DEFAULT_TITLES = {
    ConsentKind.TREATMENT: "Consent to treatment",
    ConsentKind.TELEHEALTH: "Consent to telehealth technology",
    ConsentKind.COUPLES_AGREEMENT: "Confidentiality agreement for couples and family sessions",
    ConsentKind.GUARDIAN: "Guardian consent for a minor's treatment",
    ConsentKind.PRIVACY: "Privacy notice",
}

DEFAULT_TEXTS = {
    ConsentKind.TREATMENT: """\
# Consent to treatment

By signing, you agree to take part in psychotherapy with a therapist of this practice.

## What therapy involves
Therapy is a conversation with a trained professional about what troubles you. It can help,
and it can also bring up uncomfortable feelings for a while. You may stop at any time.

## What stays private
What you say in therapy is confidential. Your therapist will not share it without your written
permission, except where the law requires it:

- when there is a serious and imminent risk of harm to you or to someone else;
- when a child, an elder or a dependent adult may be abused or neglected;
- when a court orders it.

## Your rights
- You may ask questions about your treatment at any time.
- You may see your record, apart from your therapist's separate psychotherapy notes.
- You may withdraw this consent. Withdrawing ends treatment from that moment on; it does not
  undo anything that happened before.
""",
    ConsentKind.TELEHEALTH: """\
# Consent to telehealth technology

Sessions here take place over video on this platform. Please read how it works and what it
asks of you.

## How the platform protects you
- Video and audio go directly between your browser and your therapist's, encrypted end to end
  (WebRTC with DTLS-SRTP). When a relay server is needed, it only passes on encrypted packets;
  the practice's servers never see or hear your session.
- **Sessions are never recorded**, by the platform or by your therapist.
- Your records are encrypted where they are stored, and every access to them is logged. You can
  see who opened your record.
- Signing in always takes a second step (a code from your phone), so a stolen password alone
  opens nothing.

## What no technology can promise
No system is perfectly secure. Devices can be lost, networks can be watched, and someone in the
room can overhear. You share responsibility for your privacy.

## Your part
- Use your own device, not a shared or work computer, and keep it locked.
- Use a private network you trust, not public Wi-Fi.
- Find a private space where nobody can overhear you, and use headphones if you can.
- Do not record the session yourself.

## If the connection drops
Your therapist will try to reconnect for 10 minutes. If that fails, they will contact you by
phone or e-mail to continue or reschedule.

## In an emergency
Video sessions are not an emergency service. If you are in danger, call your local emergency
number. Tell your therapist where you are at the start of each session, so they can send help
if it is ever needed.
""",
    ConsentKind.COUPLES_AGREEMENT: """\
# Confidentiality agreement for couples and family sessions

When more than one person takes part in therapy, confidentiality works differently. Each person
signs this agreement separately.

## Our policy: no secrets
In joint therapy the relationship is the client. If you tell your therapist something in a
separate conversation or message that bears on the relationship, your therapist may use their
judgement to bring it into the joint sessions. Please do not share anything you want kept from
the others.

## What each of us agrees to
- What is said in a session stays between the people in it. You will not share what another
  participant said with anyone outside the session, and you will not record it.
- Each participant joins from a private space.
- The legal limits of confidentiality in the consent to treatment still apply.

Your therapist may also note a specific agreement with you personally; you can ask to see it.
""",
    ConsentKind.GUARDIAN: """\
# Guardian consent for a minor's treatment

By signing, you confirm that you are the parent or legal guardian of the young person named
below, and you consent to their treatment by this practice, including over video.

## Privacy for the young person
Therapy works best when the young person can speak freely. Unless the law or their safety
requires otherwise:

- you will see appointments and billing;
- you will not see session notes, unless the therapist decides the law and the young person's
  care allow it, and tells you so;
- your therapist will tell you if there is a serious risk to the young person's safety.

## Your part
Help the young person join from a private space where they can talk without being overheard,
including by you.

You may withdraw this consent. Withdrawing ends treatment from that moment on.
""",
    ConsentKind.PRIVACY: """\
# Privacy notice

## What we keep
Your contact details, appointments, consent forms, your therapist's records and billing. Your
therapist may keep separate psychotherapy notes, which are stored apart and only they can read.

## Where it is kept and how
Everything is stored on the practice's own servers, encrypted at rest. Video is never stored.
Every access to your record is logged, and you can see that log.

## How long
Clinical records are kept as long as the law requires where the practice operates (often at
least six years after your last session); the access log is kept at least six years.

## Who sees it
Your therapist and, where needed, their colleagues in this practice. Nobody else, unless you
agree in writing or the law requires it.

## If you have a concern
Tell the practice: sign in and choose *Report a concern*; only the practice's admins read it,
and you can follow what they do about it. You may also complain to the Office for Civil Rights
of the U.S. Department of Health and Human Services, online through its OCR Complaint Portal, or
by mail or e-mail. Nobody may hold a complaint against you, and filing one never affects your
treatment.
""",
}
