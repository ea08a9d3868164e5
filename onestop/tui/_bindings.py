"""Key bindings written once in Vietnamese and translated when a screen is built.

``BINDINGS`` are class attributes, evaluated when a module is imported, which is before the
desk has read its language setting. So labels are written in the Vietnamese source text and
``translate_bindings`` runs ``t()`` over a node's own copy of its bindings (``DOMNode._bindings``
is a per-instance copy of the class map, see textual/dom.py). After a language switch the app
rebuilds its screens, so each gets freshly translated labels.
"""

from __future__ import annotations

from dataclasses import replace

from textual.binding import Binding, BindingsMap
from textual.dom import DOMNode

from onestop.i18n import t


def bind(
    key: str,
    action: str,
    label: str,
    tooltip: str,
    *,
    id: str,
    show: bool = True,
    priority: bool = False,
) -> Binding:
    """A binding with the ``id`` (for ``set_keymap``) and ``tooltip`` every binding must carry."""
    return Binding(key, action, label, show=show, priority=priority, tooltip=tooltip, id=id)


def translated(source: BindingsMap) -> BindingsMap:
    out = source.copy()
    for key, bindings in source.key_to_bindings.items():
        out.key_to_bindings[key] = [
            replace(
                b,
                description=t(b.description) if b.description else "",
                tooltip=t(b.tooltip) if b.tooltip else "",
            )
            for b in bindings
        ]
    return out


def translate_bindings(node: DOMNode) -> None:
    """Translate the labels of ``node``'s bindings into the current language, in place."""
    node._bindings = translated(node._bindings)
