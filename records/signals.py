"""What records tells the apps above it."""

from django.dispatch import Signal

# A client's questionnaire needs their care team's attention now (PHQ-9 item 9 above 0).
# Sent after the answers are committed, with ``chart`` (a ClientChart).
questionnaire_needs_attention = Signal()
