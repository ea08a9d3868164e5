"""Reusable widgets of the desk, grouped by feature."""
