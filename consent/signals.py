"""Signals other apps listen to."""

from django.dispatch import Signal

# Sent when a consent is withdrawn. Arguments: client, kind.
consent_withdrawn = Signal()
