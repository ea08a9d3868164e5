"""Desk chrome shown on every screen: the desk bar."""
