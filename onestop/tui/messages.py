"""App-level messages, named in the past tense (STYLE rule 10).

Thread workers report back only through these (``post_message`` is thread-safe; setting
reactives or pushing screens from a thread is not: Textualize/textual#5137, #3064). Loads that
a newer request supersedes carry the request they answer, so the receiver can drop a stale
result (the search-as-you-type guard of Textualize/textual:examples/dictionary.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:  # the desk's first screen is drawn before the services' libraries load
    from onestop.domain.attachments import Attachment, ShownOnly
    from onestop.domain.calendar import CalendarOverride
    from onestop.domain.desk_actions import ActionOffer
    from onestop.domain.events import Event, EventKind
    from onestop.domain.lifecycle import DossierState
    from onestop.forms.report_files import Report
    from onestop.scans import ScannerDevice
    from onestop.services.catalogue import ProcedureInfo
    from onestop.services.desk import Desk, IntakePreview
    from onestop.services.glance import Dashboard
    from onestop.services.reports import WeekFlow
    from onestop.services.sync.base import SyncReport
    from onestop.services.sync.status import Conflict, SyncStatus
    from onestop.services.worklist import WorkCount
    from onestop.store.queries import DossierFilter, Page


@dataclass(frozen=True)
class SyncState:
    last_sync_at: str  # ISO text from the desk settings, "" before the first sync
    waiting: int  # events not yet acknowledged by the province
    enrolled: bool = False
    running: bool = False
    last_ok_at: datetime | None = None  # the last run that ended without an error
    error: str = ""  # of the last run (or why it could not start); "" when all is well
    skew_flagged: bool = False  # desk and server clocks differ by more than 5 minutes
    needs_passphrase: bool = False  # enrolled, but the desk key is still locked
    offline_level: str = ""  # services.lockdown: standalone | ok | warn | blocked | unlocked
    offline_days: int | None = None  # days since the last successful sync (enrolled desks)
    offline_message: str = ""  # the full warning, for a notice and the sync screen
    files_waiting: int = 0  # digitised files the province does not yet confirm holding
    files_bytes: int = 0  # at most this much of them left to send


class SyncStateLoaded(Message):
    """Fresh sync numbers for the desk bar; bursts collapse into the newest."""

    def __init__(self, state: SyncState) -> None:
        super().__init__()
        self.state = state

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SyncStateLoaded)


class CountsLoaded(Message):
    """Dashboard numbers, and whether today is a working day."""

    def __init__(self, dashboard: Dashboard) -> None:
        super().__init__()
        self.dashboard = dashboard

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, CountsLoaded)


class PageLoaded(Message):
    """One keyset page for the dossier list (or a dashboard preview), for ``flt`` / ``after``."""

    def __init__(
        self, target: str, flt: DossierFilter, after: int | None, page: Page, seconds: float
    ) -> None:
        super().__init__()
        self.target = target
        self.flt = flt
        self.after = after
        self.page = page
        self.seconds = seconds


class ProceduresFound(Message):
    def __init__(self, query: str, procedures: list[ProcedureInfo]) -> None:
        super().__init__()
        self.query = query
        self.procedures = procedures


class IntakeChecked(Message):
    """The intake form was validated: ``preview`` when valid, else ``errors`` field → message."""

    def __init__(self, step: int, preview: IntakePreview | None, errors: dict[str, str]) -> None:
        super().__init__()
        self.step = step  # the step being left (4: the final check before saving)
        self.preview = preview
        self.errors = errors


class DossierReceived(Message):
    def __init__(self, state: DossierState) -> None:
        super().__init__()
        self.state = state


class DossierRefused(Message):
    def __init__(self, state: DossierState) -> None:
        super().__init__()
        self.state = state


class DossierLoaded(Message):
    def __init__(
        self,
        state: DossierState,
        events: list[Event],
        offers: tuple[ActionOffer, ...] = (),
        forward_to: str = "",
        generation: int = 0,
    ) -> None:
        super().__init__()
        self.state = state
        self.events = events
        self.offers = offers  # what this person may do now (services/worklist.action_offers)
        self.forward_to = forward_to  # the forward form's proposal (services/worklist)
        self.generation = generation  # which load asked: a stale answer is dropped


class DossierActed(Message):
    def __init__(self, kind: EventKind, state: DossierState) -> None:
        super().__init__()
        self.kind = kind
        self.state = state


class ActionRefused(Message):
    """The desk refused an action; the form reopens with what was typed and ``message``."""

    def __init__(self, kind: EventKind, values: dict[str, Any], message: str) -> None:
        super().__init__()
        self.kind = kind
        self.values = values
        self.message = message


class CalendarLoaded(Message):
    def __init__(self, overrides: list[CalendarOverride]) -> None:
        super().__init__()
        self.overrides = overrides


class SettingSaved(Message):
    """A setting was written; ``section`` says which part of the settings screen reports it."""

    def __init__(self, section: str, text: str) -> None:
        super().__init__()
        self.section = section
        self.text = text


class DeskOpened(Message):
    """The desk finished opening in the background (the dashboard was drawn from a glance)."""

    def __init__(self, desk: Desk) -> None:
        super().__init__()
        self.desk = desk


class DemoCreated(Message):
    """The first-run demo desk is built (encrypted: the login screen opens it)."""

    def __init__(self, dossiers: int) -> None:
        super().__init__()
        self.dossiers = dossiers


class DemoProgressed(Message):
    def __init__(self, done: int, total: int) -> None:
        super().__init__()
        self.done = done
        self.total = total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, DemoProgressed)


class SyncRan(Message):
    """A background sync run ended: its report, or why it could not run (``error``)."""

    def __init__(self, report: SyncReport | None, error: str, enrolled: bool) -> None:
        super().__init__()
        self.report = report
        self.error = error
        self.enrolled = enrolled


class SyncStatusLoaded(Message):
    """The recorded sync state (runs, bytes, held-back events) for the sync screen."""

    def __init__(self, status: SyncStatus, conflicts: list[Conflict]) -> None:
        super().__init__()
        self.status = status
        self.conflicts = conflicts

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SyncStatusLoaded)


class ReportComputed(Message):
    """A report for ``request`` (or the reason it could not be made, in ``error``)."""

    def __init__(
        self, request: Any, report: Report | None, weeks: list[WeekFlow], error: str = ""
    ) -> None:
        super().__init__()
        self.request = request
        self.report = report
        self.weeks = weeks
        self.error = error


class AttachmentsLoaded(Message):
    """A dossier and its digitised papers (``services.attachments.list_attachments``)."""

    def __init__(
        self,
        state: DossierState,
        attachments: list[Attachment],
        shown_only: list[ShownOnly] | None = None,
    ) -> None:
        super().__init__()
        self.state = state
        self.attachments = attachments
        self.shown_only = shown_only or []

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, AttachmentsLoaded)


class AttachmentsChanged(Message):
    """A file was detached (or could not be): ``error`` is the desk's reason, else ""."""

    def __init__(self, done: str, error: str = "") -> None:
        super().__init__()
        self.done = done
        self.error = error


class CaptureProgressed(Message):
    """A step of long capture work (scan, normalise, store); bursts collapse into the newest."""

    def __init__(
        self, text: str, progress: float | None = None, total: float | None = None
    ) -> None:
        super().__init__()
        self.text = text
        self.progress = progress
        self.total = total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, CaptureProgressed)


class CaptureFailed(Message):
    """Capture refused: ``field`` is the form field the message belongs under ("" = the form)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__()
        self.field = field
        self.message = message


class PagesScanned(Message):
    """Pages came off the scanner (kept in the modal until they are stored)."""

    def __init__(self, pages: list[Any]) -> None:
        super().__init__()
        self.pages = pages


class CaptureStored(Message):
    """The file is stored and recorded as an ``attach`` event."""

    def __init__(self, attachment: Attachment) -> None:
        super().__init__()
        self.attachment = attachment


class ScannersFound(Message):
    """What ``scanimage -L`` saw (or why it could not look, in ``error``)."""

    def __init__(self, devices: list[ScannerDevice], error: str = "") -> None:
        super().__init__()
        self.devices = devices
        self.error = error


class WorklistLoaded(Message):
    """The counts of the logged-in person's queues ("Việc chờ tôi")."""

    def __init__(self, counts: tuple[WorkCount, ...]) -> None:
        super().__init__()
        self.counts = counts


class QueueLoaded(Message):
    """The dossiers of one queue, for the dashboard's preview."""

    def __init__(self, key: str, rows: list[DossierState]) -> None:
        super().__init__()
        self.key = key
        self.rows = rows


class PreviewRendered(Message):
    """A page of a scan drawn for the preview (``image`` None and ``error`` set: not drawn)."""

    def __init__(self, image: Any, page: int, count: int, error: str = "") -> None:
        super().__init__()
        self.image = image
        self.page = page
        self.count = count
        self.error = error

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PreviewRendered)


class HotfolderProgressed(Message):
    """A step of a hot-folder pass (files read, stacks attached); bursts collapse."""

    def __init__(self, text: str, done: int, total: int) -> None:
        super().__init__()
        self.text = text
        self.done = done
        self.total = total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, HotfolderProgressed)


class HotfolderDone(Message):
    """A hot-folder pass ended: each part's outcome and the files left, or why it stopped."""

    def __init__(self, parts: list[Any], left: list[Any], error: str = "") -> None:
        super().__init__()
        self.parts = parts
        self.left = left
        self.error = error


class DigitisedSummaryLoaded(Message):
    """One dossier's digitised papers for a summary line (receipt, dossier detail)."""

    def __init__(self, code: str, text: Any) -> None:
        super().__init__()
        self.code = code
        self.text = text
