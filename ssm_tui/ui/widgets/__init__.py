"""Widgets: display records and post messages (they call no service themselves)."""
