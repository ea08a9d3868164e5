"""Widgets of the reports screen."""
