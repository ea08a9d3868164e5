"""Widgets of the digitised papers: the page preview."""
