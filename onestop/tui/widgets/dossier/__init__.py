"""Widgets that show dossiers: the list table, the summary, the timeline."""
