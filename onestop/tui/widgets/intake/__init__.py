"""Widgets of the intake wizard."""
