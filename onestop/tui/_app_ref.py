"""Typed access to the running desk application from any screen, widget or command provider
(one place, so no screen casts ``self.app`` on its own)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from textual.app import App

    from onestop.tui.app import OnestopApp


class _InApp(Protocol):
    @property
    def app(self) -> App[Any]: ...


def desk_app(node: _InApp) -> OnestopApp:
    return cast("OnestopApp", node.app)
