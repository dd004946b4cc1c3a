"""Screens: arrange widgets, run workers that call the services, post one result message."""
