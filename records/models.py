"""Models for this app arrive with its own issue; the label is fixed now so migrations never move."""
