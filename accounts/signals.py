"""Signals other apps listen to."""

from django.dispatch import Signal

# Sent after signed-in sessions were ended by someone or something other than their own request
# (sign out elsewhere, password change, deactivation). Arguments: user, session_keys, reason.
login_sessions_ended = Signal()

# Sent inside the transaction that creates a practice. Arguments: practice.
practice_created = Signal()

# Sent inside the transaction that accepts a client's invitation. Arguments: user, invited_by,
# context (the AuditContext of the acceptance).
client_joined = Signal()

# Asked right after a sign-in: a receiver may return the page the person must see first.
# Arguments: user. Receivers return a URL or None.
sign_in_destination = Signal()
