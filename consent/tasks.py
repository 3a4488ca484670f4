from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from accounts.models import User
from accounts.selectors import guardians_of
from consent.models import ConsentDocument


def consent_request_emails_enqueue(*, client_ids: list[int], document_id: int) -> None:
    if client_ids:
        send_consent_request_emails.delay(client_ids, document_id)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_consent_request_emails(client_ids: list[int], document_id: int) -> None:
    """Tell each client (or a minor's guardians) that a document waits for them. No clinical detail."""
    document = ConsentDocument.objects.select_related("practice").filter(pk=document_id).first()
    if document is None:
        return
    link = (settings.SITE_URL or "").rstrip("/") + reverse("consent:mine")
    for client in User.objects.filter(pk__in=client_ids, is_active=True):
        recipients = [
            client.email,
            *guardians_of(client=client).values_list("email", flat=True),
        ]
        send_mail(
            subject=f"{document.practice.name}: a document to review",
            message=(
                f'{document.practice.name} asks you to review and sign "{document.title}".\n\n'
                f"Sign in to read it: {link}\n"
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=recipients,
        )
