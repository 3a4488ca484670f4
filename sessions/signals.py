"""What the sessions app announces, for its own parts that act on it later.

``appointment_cancelled(sender, appointment)``: a scheduled session was cancelled (by its therapist
or online by its client); sent inside the cancelling transaction. The waitlist offers its time
(``sessions.services.waitlist``)."""

from django.dispatch import Signal

appointment_cancelled = Signal()
