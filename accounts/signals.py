"""Signals other apps listen to."""

from django.dispatch import Signal

# Sent after signed-in sessions were ended by someone or something other than their own request
# (sign out elsewhere, password change, deactivation). Arguments: user, session_keys, reason.
login_sessions_ended = Signal()
