"""Backspace inside a burst of keys: what a Vietnamese IME sends on every tone mark.

Unikey and EVKey (Telex or VNI) fix a word in a terminal by sending backspaces and then the
word as it now reads: "Nguyeenx" arrives as ``Nguye`` BS ``ê`` ``n`` BS BS ``ễn``, all at once,
with BS as 0x7F on some machines and 0x08 on others (Textual reads both as "backspace").

A stock ``Input`` types a letter in its own key handler, but deletes through its "backspace"
*binding*, which Textual runs only once the key has bubbled back up from the input, through the
app's queue. In a burst the letters typed after the backspace get there first: the desk showed
"chuưngứng" for "chứng" (measured in tmux; tests/tui/test_tmux_vietnamese.py). So the app takes
backspace as a priority binding and queues the deletion *on the focused field's own queue*,
behind the letters that came before it and ahead of those that come after.
"""

from __future__ import annotations

from typing import Any

from textual.actions import SkipAction
from textual.binding import Binding

from onestop.tui._bindings import bind

BACKSPACE_BINDING: Binding = bind(
    "backspace",
    "burst_backspace",
    "Xóa lùi",
    "Xóa ký tự bên trái con trỏ",
    id="app.backspace",
    show=False,
    priority=True,
)


def burst_backspace(focused: Any) -> None:
    """Delete left in ``focused`` in key order; anything that is not a text field keeps its own
    backspace (``SkipAction`` lets the key go on as usual)."""
    delete_left = getattr(focused, "action_delete_left", None)
    if focused is None or delete_left is None:
        raise SkipAction()
    focused.call_later(delete_left)
