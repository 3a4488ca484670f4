"""The sessions app's pages: the schedule and the call (pages), booking online (booking) and
requests for a first session (requests)."""
