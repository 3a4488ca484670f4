"""The sessions API: the call's endpoints and scheduling (calls), and booking online (booking)."""
