"""Modal dialogs: y/n confirmation, the action menu, and the form of one lifecycle action.

Modals are ``ModalScreen[T]`` that bind their own keys, focus themselves and answer through
``dismiss`` (STYLE rule 27).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from onestop.domain.desk_actions import ActionOffer, Blocked
from onestop.domain.evaluation import INDICATORS, missing
from onestop.domain.events import EventKind
from onestop.domain.lifecycle import SATISFACTION_LEVELS, action_label
from onestop.i18n import t
from onestop.tui._actions import ACTION_FIELDS, parse_form
from onestop.tui._bindings import bind, translate_bindings


class ConfirmModal(ModalScreen[bool]):
    """Yes / no. ``y`` confirms; ``n`` and Esc decline."""

    DEFAULT_CSS = """
    ConfirmModal { align: center middle; }
    ConfirmModal > Vertical {
        width: 64; height: auto; padding: 1 2;
        border: thick $warning; background: $surface;
    }
    ConfirmModal #confirm-question { width: 1fr; margin-bottom: 1; }
    ConfirmModal Horizontal { height: auto; align-horizontal: right; }
    ConfirmModal Button { margin-left: 2; }
    """

    BINDINGS = [
        bind("y", "answer(True)", "Có", "Đồng ý thực hiện", id="confirm.yes"),
        bind("n", "answer(False)", "Không", "Không thực hiện", id="confirm.no"),
        bind(
            "escape", "answer(False)", "Không", "Không thực hiện", id="confirm.escape", show=False
        ),
    ]

    def __init__(self, question: str, *, quit_question: bool = False) -> None:
        super().__init__()
        translate_bindings(self)
        self.question = question
        self.quit_question = quit_question  # Ctrl+Q again on it quits (app.action_quit)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, id="confirm-question", markup=False)
            with Horizontal():
                yield Button(t("Có (Y)"), id="yes", variant="warning", compact=True)
                yield Button(t("Không (N)"), id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


# Listed dimmed with why; an action that is no step of the present status is not listed.
_SHOWN_BLOCKED = (Blocked.ROLE, Blocked.TWO_PERSON, Blocked.USED)


class ActionMenuModal(ModalScreen[EventKind | None]):
    """The actions this person may take on this dossier now (``domain/desk_actions.offers``),
    numbered: ``1``…``9`` or Enter on the highlighted one. The lifecycle's actions of another
    role follow, dimmed and not selectable, with who takes them ("Lãnh đạo thực hiện"), and
    the once-only steps already used, with why: the menu never offers what the desk would
    then refuse (issue 17). Actions that are no step of the dossier's status are not listed."""

    DEFAULT_CSS = """
    ActionMenuModal { align: center middle; }
    ActionMenuModal > Vertical {
        width: 74; height: auto; max-height: 22;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    ActionMenuModal #menu-title { text-style: bold; padding: 0 1; width: 100%; }
    ActionMenuModal #menu-empty { color: $text-muted; padding: 0 1; }
    ActionMenuModal OptionList { height: auto; max-height: 18; border: none; }
    """

    BINDINGS = [
        bind("escape", "cancel", "Đóng", "Đóng danh sách thao tác", id="menu.close"),
        *[
            bind(
                str(n),
                f"number({n})",
                f"Thao tác {n}",
                "Chọn thao tác số này",
                id=f"menu.n{n}",
                show=False,
            )
            for n in range(1, 10)
        ],
    ]

    def __init__(self, code: str, offered: Sequence[ActionOffer]) -> None:
        super().__init__()
        translate_bindings(self)
        self.code = code
        self.offered = tuple(offered)
        self.numbered = [o.kind for o in self.offered if o.available]

    def compose(self) -> ComposeResult:
        options: list[Option | None] = []
        for n, kind in enumerate(self.numbered, start=1):
            label = Text.assemble((f"{n} " if n < 10 else "  ", "bold"), action_label(kind))
            options.append(Option(label, id=kind.value))
        others = [o for o in self.offered if o.blocked in _SHOWN_BLOCKED]
        if others and options:
            options.append(None)
        for o in others:
            label = Text.assemble(
                ("  " + action_label(o.kind), "dim"), (" — " + o.why, "dim italic")
            )
            options.append(Option(label, id=o.kind.value, disabled=True))
        with Vertical():
            yield Label(
                t("Thao tác cho hồ sơ {code}", code=self.code), id="menu-title", markup=False
            )
            if not self.numbered:
                yield Static(
                    t("Lúc này bạn không có thao tác nào với hồ sơ này."),
                    id="menu-empty",
                    markup=False,
                )
            yield OptionList(*options, id="menu-options")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def action_number(self, n: int) -> None:
        if 1 <= n <= len(self.numbered):
            self.dismiss(self.numbered[n - 1])

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        assert event.option_id is not None
        kind = EventKind(event.option_id)
        if kind in self.numbered:
            self.dismiss(kind)

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class ActionFormResult:
    values: dict[str, str]  # what was typed, to reopen the form unchanged after a refusal
    params: dict[str, Any]
    note: str


class ActionFormModal(ModalScreen[ActionFormResult | None]):
    """The parameters of one action. Nothing is saved here: the screen runs the action after
    this closes, and reopens the form with the same values if the desk refuses it."""

    DEFAULT_CSS = """
    ActionFormModal { align: center middle; }
    ActionFormModal > VerticalScroll {
        width: 72; height: auto; max-height: 22;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    ActionFormModal #form-title { text-style: bold; width: 100%; }
    ActionFormModal #form-hint { color: $text-muted; }
    ActionFormModal .form-error { color: $error; text-style: bold; }
    ActionFormModal .form-error.-empty { display: none; }
    ActionFormModal .field-label { margin-top: 1; }
    ActionFormModal Input, ActionFormModal Select { width: 1fr; }
    ActionFormModal Horizontal { height: auto; margin-top: 1; align-horizontal: right; }
    ActionFormModal Button { margin-left: 2; }
    """

    BINDINGS = [
        bind("f10", "submit", "Lưu", "Lưu thao tác", id="form.submit"),
        bind("ctrl+s", "submit", "Lưu", "Lưu thao tác", id="form.save", show=False),
        bind("escape", "cancel", "Hủy", "Đóng, không lưu gì", id="form.cancel"),
        bind(
            "enter",
            "enter",
            "Ô tiếp theo",
            "Sang ô tiếp theo; ở ô cuối thì lưu",
            id="form.enter",
            show=False,
            priority=True,
        ),
    ]

    def __init__(
        self,
        kind: EventKind,
        code: str,
        *,
        values: dict[str, str] | None = None,
        error: str = "",
        hint: str = "",
        with_note: bool = True,
        title: str | None = None,
    ) -> None:
        super().__init__()
        translate_bindings(self)
        self.kind = kind
        self.code = code
        self.values = dict(values or {})
        self.error = error
        self.hint = hint
        self.with_note = with_note
        self.title_text = title or t(
            "{action} — hồ sơ {code}", action=action_label(kind), code=code
        )

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Label(self.title_text, id="form-title", markup=False)
            if self.hint:
                yield Static(self.hint, id="form-hint", markup=False)
            yield Static(
                self.error,
                id="form-error",
                classes="form-error" + ("" if self.error else " -empty"),
                markup=False,
            )
            for f in ACTION_FIELDS[self.kind]:
                yield Label(t(f.label), classes="field-label", markup=False)
                if f.kind == "choice":
                    value = self.values.get(f.key) or f.choices[0][1]
                    yield Select(
                        [(t(label), v) for label, v in f.choices],
                        value=value,
                        allow_blank=False,
                        compact=True,
                        id=f"field-{f.key}",
                    )
                else:
                    yield Input(
                        self.values.get(f.key, ""),
                        placeholder=t(f.placeholder) if f.placeholder else "",
                        compact=True,
                        id=f"field-{f.key}",
                    )
                yield Static("", id=f"error-{f.key}", classes="form-error -empty", markup=False)
            if self.with_note:
                yield Label(t("Ghi chú"), classes="field-label", markup=False)
                yield Input(self.values.get("_note", ""), compact=True, id="field-_note")
            with Horizontal():
                yield Button(t("Lưu (F10)"), id="form-save", variant="primary", compact=True)
                yield Button(t("Hủy (Esc)"), id="form-cancel", compact=True)

    def on_mount(self) -> None:
        first = self.query("Input, Select").first()
        first.focus()
        self._initial = self._collect()

    def has_unsaved(self) -> bool:
        """Something was typed or chosen that quitting would lose (``app.action_quit``)."""
        initial = getattr(self, "_initial", None)
        return initial is not None and self._collect() != initial

    def _collect(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for f in ACTION_FIELDS[self.kind]:
            widget = self.query_one(f"#field-{f.key}")
            if isinstance(widget, Select):
                values[f.key] = "" if widget.value is Select.NULL else str(widget.value)
            elif isinstance(widget, Input):
                values[f.key] = widget.value
        if self.with_note:
            values["_note"] = self.query_one("#field-_note", Input).value
        return values

    def action_submit(self) -> None:
        values = self._collect()
        params, errors = parse_form(self.kind, values)
        for f in ACTION_FIELDS[self.kind]:
            label = self.query_one(f"#error-{f.key}", Static)
            message = errors.get(f.key, "")
            label.update(message)
            label.set_class(not message, "-empty")
        if errors:
            first = next(iter(errors))
            self.query_one(f"#field-{first}").focus()
            return
        self.dismiss(ActionFormResult(values, params, values.get("_note", "").strip()))

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_enter(self) -> None:
        # As in the intake wizard: move on while the key is dispatched, so type-ahead lands in
        # the next field; submitting waits behind the keys the input has not processed yet.
        focused = self.focused
        if not isinstance(focused, Input):
            raise SkipAction()
        if focused is list(self.query(Input))[-1]:
            focused.call_later(self.action_submit)
        else:
            self.focus_next()

    @on(Button.Pressed, "#form-save")
    def _save(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#form-cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class EvaluationModal(ModalScreen[ActionFormResult | None]):
    """The citizen's evaluation at return, one key per answer (issue 17).

    Nine rows, one per TT 01/2018 indicator with its short wording; the highlighted row's full
    wording of the circular is shown under the list. ``0`` ``1`` ``2`` score the highlighted
    indicator and move to the next open one; on the last row ``1``…``5`` choose the satisfaction level, which
    starts unanswered. The log's own answers (``prefilled``) are filled in and marked, and can
    be changed. F10 refuses with what was not asked yet, never records an unasked answer.
    """

    DEFAULT_CSS = """
    EvaluationModal { align: center middle; }
    EvaluationModal > Vertical {
        width: 76; height: auto; max-height: 23;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    EvaluationModal #eval-title { text-style: bold; width: 100%; }
    EvaluationModal #eval-keys { color: $text-muted; }
    EvaluationModal OptionList, EvaluationModal OptionList:focus {
        height: auto; max-height: 10; border: none; padding: 0;
    }
    EvaluationModal #eval-wording { color: $text-muted; height: 2; }
    EvaluationModal #eval-error { color: $error; text-style: bold; height: auto; }
    EvaluationModal #eval-error.-empty { display: none; }
    """

    BINDINGS = [
        bind("f10", "submit", "Lưu", "Lưu đánh giá", id="eval.submit"),
        bind("ctrl+s", "submit", "Lưu", "Lưu đánh giá", id="eval.save", show=False),
        bind("escape", "cancel", "Hủy", "Đóng, không lưu gì", id="eval.cancel"),
        *[
            bind(
                str(n),
                f"answer({n})",
                f"Trả lời {n}",
                "Điểm của tiêu chí (0–2) hoặc mức hài lòng (1–5)",
                id=f"eval.n{n}",
                show=False,
            )
            for n in range(6)
        ],
    ]

    SATISFACTION = "satisfaction"

    def __init__(
        self,
        code: str,
        prefilled: Sequence[int | None],
        *,
        values: dict[str, str] | None = None,
        error: str = "",
    ) -> None:
        super().__init__()
        translate_bindings(self)
        self.code = code
        self.auto = list(prefilled)
        self.scores: list[int | None] = list(prefilled)
        self.satisfaction: int | None = None
        typed = (values or {}).get("scores", "")
        if len(typed) == len(self.scores):  # reopened after a refusal: as the clerk left it
            self.scores = [int(ch) if ch in "012" else None for ch in typed]
        level = (values or {}).get("satisfaction", "")
        if level.isdigit() and int(level) in SATISFACTION_LEVELS:
            self.satisfaction = int(level)
        self.error = error

    def _row(self, i: int) -> Text:
        label = t(INDICATORS[i][0])
        score = self.scores[i]
        shown = "·" if score is None else str(score)
        auto = score is not None and score == self.auto[i]
        return Text.assemble(
            (f"{i + 1}. ", "bold"),
            label.ljust(44)[:44],
            (f" {shown} ", "bold reverse" if score is not None else "dim"),
            (" " + t("theo nhật ký") if auto else "", "dim italic"),
        )

    def _satisfaction_row(self) -> Text:
        level = self.satisfaction
        shown = t(SATISFACTION_LEVELS[level]) if level is not None else t("chưa hỏi")
        return Text.assemble(
            (t("Mức độ hài lòng").ljust(47)[:47], "bold"),
            (f" {shown} ", "bold reverse" if level is not None else "dim italic"),
        )

    def compose(self) -> ComposeResult:
        options = [Option(self._row(i), id=f"tc{i}") for i in range(len(self.scores))]
        options.append(Option(self._satisfaction_row(), id=self.SATISFACTION))
        with Vertical():
            yield Label(
                t("Đánh giá của công dân — hồ sơ {code}", code=self.code),
                id="eval-title",
                markup=False,
            )
            yield Static(
                t("Tiêu chí (TT 01/2018): bấm 0, 1, 2 · Mức hài lòng: bấm 1–5 · F10: lưu"),
                id="eval-keys",
                markup=False,
            )
            yield OptionList(*options, id="eval-list")
            yield Static("", id="eval-wording", markup=False)
            yield Static(
                self.error,
                id="eval-error",
                classes="" if self.error else "-empty",
                markup=False,
            )

    def on_mount(self) -> None:
        rows = self.query_one(OptionList)
        rows.focus()
        # Start on the first indicator only the citizen can answer.
        first = next((i for i, s in enumerate(self.scores) if s is None), len(self.scores))
        rows.highlighted = first

    @on(OptionList.OptionHighlighted, "#eval-list")
    def _wording(self, event: OptionList.OptionHighlighted) -> None:
        i = event.option_index
        if i < len(INDICATORS):
            text = f"{i + 1}. {t(INDICATORS[i][1])}"
        else:
            levels = ", ".join(f"{k} {t(v)}" for k, v in sorted(SATISFACTION_LEVELS.items()))
            text = t("Mức độ hài lòng của người dân: {levels}.", levels=levels)
        self.query_one("#eval-wording", Static).update(text)

    def action_answer(self, n: int) -> None:
        rows = self.query_one(OptionList)
        i = rows.highlighted
        if i is None:
            return
        if i < len(self.scores):
            if n > 2:
                self._show_error(t("Mỗi tiêu chí chỉ chấm 0, 1 hoặc 2 điểm."))
                return
            self.scores[i] = n
            rows.replace_option_prompt_at_index(i, self._row(i))
            # On to the next question still open (the log's answers are skipped, not lost:
            # ↑↓ reach them), then the satisfaction level.
            after = [j for j in range(i + 1, len(self.scores)) if self.scores[j] is None]
            rows.highlighted = after[0] if after else len(self.scores)
        else:
            if n not in SATISFACTION_LEVELS:
                self._show_error(
                    t("Mức độ hài lòng: bấm 1 (rất không hài lòng) đến 5 (rất hài lòng).")
                )
                return
            self.satisfaction = n
            rows.replace_option_prompt_at_index(i, self._satisfaction_row())
        self._show_error("")

    def _values(self) -> dict[str, str]:
        return {
            "scores": "".join("?" if s is None else str(s) for s in self.scores),
            "satisfaction": "" if self.satisfaction is None else str(self.satisfaction),
        }

    def has_unsaved(self) -> bool:
        return self.scores != self.auto or self.satisfaction is not None

    def action_submit(self) -> None:
        why = missing(self.scores, self.satisfaction)
        if why:
            self._show_error(why)
            rows = self.query_one(OptionList)
            rows.highlighted = next(
                (i for i, s in enumerate(self.scores) if s is None), len(self.scores)
            )
            return
        params: dict[str, Any] = {
            "scores": [int(s) for s in self.scores if s is not None],
            "satisfaction": self.satisfaction,
        }
        self.dismiss(ActionFormResult(self._values(), params, ""))

    def _show_error(self, text: str) -> None:
        error = self.query_one("#eval-error", Static)
        error.update(text)
        error.set_class(not text, "-empty")

    def action_cancel(self) -> None:
        self.dismiss(None)


class HelpModal(ModalScreen[None]):
    """F1: the keys of the screen underneath, in the desk's language.

    Textual's own help panel lists every binding of the focused widget, in English; a clerk
    needs the desk's keys and the few universal ones, so this lists the bindings that carry an
    ``id`` (every binding of the desk does) and adds the navigation keys in words.
    """

    DEFAULT_CSS = """
    HelpModal { align: center middle; }
    HelpModal > VerticalScroll {
        width: 72; height: auto; max-height: 22;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    HelpModal #help-title { text-style: bold; margin-bottom: 1; }
    HelpModal .help-general { color: $text-muted; margin-top: 1; }
    """

    BINDINGS = [
        bind("escape,f1", "close", "Đóng", "Đóng bảng phím", id="help.close"),
    ]

    def __init__(self, rows: list[tuple[str, str, str]], title: str) -> None:
        super().__init__()
        translate_bindings(self)
        self.rows = rows
        self.title_text = title

    def compose(self) -> ComposeResult:
        lines = Text()
        for i, (key, label, tooltip) in enumerate(self.rows):
            if i:
                lines.append("\n")
            lines.append(key.rjust(8), style="bold")
            lines.append(f"  {label}")
            if tooltip and tooltip != label:
                lines.append(f" — {tooltip}", style="dim")
        with VerticalScroll():
            yield Label(
                t("Phím tắt: {screen}", screen=self.title_text), id="help-title", markup=False
            )
            yield Static(lines, markup=False)
            yield Static(
                t(
                    "↑ ↓: di chuyển · Tab: ô tiếp theo · Enter: chọn · Space: đánh dấu · "
                    "Ctrl+P: bảng lệnh, mọi thao tác (gõ không dấu cũng được)"
                ),
                classes="help-general",
                markup=False,
            )

    def action_close(self) -> None:
        self.dismiss(None)
