"""The desk's use cases: intake, lifecycle actions, lookups, counts, rebuild.

``Desk`` is the one door the TUI and the CLI go through. Every change is one write
transaction that appends the event(s) and saves the updated projection together, so there is
no second write path and nothing half-written can survive a crash.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from onestop.domain.calendar import CalendarOverride, DayKind, OfficeHours, WorkCalendar
from onestop.domain.catalogue import FeeBasis, clerk_sets_fee
from onestop.domain.cccd import CccdError, parse_cccd
from onestop.domain.clock import vn_now
from onestop.domain.codes import (
    PROVISIONAL_DESK_NO,
    TAG_MAX,
    make_dossier_code,
    validate_unit_eid,
)
from onestop.domain.deadlines import compute_due, due_soon_until
from onestop.domain.desk import (
    hours_from_settings,
    identity_from_settings,
    override_from_row,
)
from onestop.domain.events import (
    FILE_KINDS,
    GENESIS_HEAD,
    SYSTEM_KINDS,
    Event,
    EventFormatError,
    EventKind,
    chain,
    to_epoch,
)
from onestop.domain.fields import FieldError, clean_documents, clean_field
from onestop.domain.lifecycle import (
    Channel,
    DossierState,
    LifecycleError,
    Status,
    apply,
    decide,
)
from onestop.domain.numbering import (
    DOCS_OF_EVENT,
    NUMBERS_KEY,
    allocate,
    counter_key,
    desk_part,
)
from onestop.domain.payments import partial_allowed
from onestop.domain.roles import (
    ACTION_ROLES,
    Permission,
    RoleError,
    acting_role,
    check_two_person,
    permitted,
    require_permission,
)
from onestop.i18n import t
from onestop.services import calendar_cache, catalogue
from onestop.services.base import DeskError as DeskError
from onestop.services.base import IntakeError as IntakeError
from onestop.services.base import NotInitialisedError as NotInitialisedError
from onestop.services.catalogue import ProcedureInfo
from onestop.services.glance import Dashboard, dashboard_of
from onestop.services.setting_keys import S_ACKED, S_DESK_TAG, S_SKEW
from onestop.store import migrate
from onestop.store.counters import next_code_number, read_settings, write_settings
from onestop.store.engine import Store, StoreKeyError
from onestop.store.keyring import Account
from onestop.store.models import (
    CalendarDay,
    DeskState,
    DossierRow,
    EventRow,
    Setting,
    Unit,
)
from onestop.store.queries import Counts, DossierFilter, Page
from onestop.store.rawsql import RawConnection, Tx, connection_of
from onestop.store.replay import replay_after_update
from onestop.store.repo_dossiers import (
    count_dossiers,
    dashboard_counts,
    get_dossier,
    list_dossiers,
    row_to_state,
    save_dossier,
    state_to_values,
)
from onestop.store.repo_events import append_event, events_for, iter_event_rows, row_to_event


@dataclass
class Applicant:
    name: str = ""
    id_number: str = ""
    phone: str = ""
    address: str = ""
    email: str = ""


@dataclass
class IntakeForm:
    """What the clerk typed. Validated as a whole so every field's error is shown at once."""

    procedure_code: str = ""
    applicant: Applicant = field(default_factory=Applicant)
    proxy: Applicant | None = None
    proxy_paper: str = ""  # the authorisation paper of a proxy applicant
    channel: Channel = Channel.IN_PERSON
    documents: list[str] | None = None  # None: the procedure's whole checklist
    fee_vnd: int | None = None  # None: the catalogue's flat fee; required when none is fixed
    fee_paid_now: bool = False
    due_override: datetime | None = None  # only for procedures without a fixed legal time
    note: str = ""
    received_at: datetime | None = None  # None: now (tests and back-entry of paper dossiers)


@dataclass(frozen=True)
class IntakePreview:
    procedure: ProcedureInfo
    received_at: datetime
    due_at: datetime | None
    fee_vnd: int
    documents: tuple[str, ...]


@dataclass(frozen=True)
class RebuildReport:
    dossiers: int
    events: int
    fixed: list[str]
    chain_errors: list[str]

    @property
    def ok(self) -> bool:
        return not self.fixed and not self.chain_errors


_PHONE_RE = re.compile(r"^0\d{9,10}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_COMMUNE_RE = re.compile(r"^\d{5}$")


def _clean_note(note: str) -> str:
    try:
        return clean_field("note", note)
    except FieldError as e:
        raise DeskError(str(e)) from e


def normalise_phone(raw: str) -> str:
    digits = re.sub(r"[\s.\-()]", "", raw)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits


# Desk settings printed on the slips (services/receipts.py reads them): the phone a citizen
# calls about a supplement request, and the head of unit named under the apology letter.
S_CONTACT_PHONE = "contact_phone"
S_HEAD_OF_UNIT = "head_of_unit"
# "1": the province's rules allow paying a fee in several instalments (domain/payments.py).
S_PARTIAL_PAYMENTS = "partial_payments"
# The receipt's paper at this counter: "a4" (default) or "80mm" (a thermal roll printer,
# forms/thermal.py). A desk setting, so a restored or replacement desk keeps it.
S_RECEIPT_PAPER = "receipt_paper"
RECEIPT_PAPERS = ("a4", "80mm")

# Desk settings (in the database) that only an admin may change.
ADMIN_SETTINGS = frozenset(
    {
        "two_person_rule",
        "idle_lock_minutes",
        S_CONTACT_PHONE,
        S_HEAD_OF_UNIT,
        S_PARTIAL_PAYMENTS,
        S_RECEIPT_PAPER,
    }
)
DEFAULT_IDLE_LOCK_MINUTES = 10


# Beyond this offset from the province's signed time, intake warns (services/sync stores it).
CLOCK_SKEW_WARN_S = 5 * 60


class Desk:
    """A desk database opened for work.

    With ``account`` (a logged-in keyring account, what the CLI and TUI always pass for a desk
    with a keyring) every action is checked against the role table (``domain/roles.py``) and
    recorded under the account's name and acting role. Without one, ``Desk`` is the
    *unrestricted programmatic API* for tests and scripts that already have the file (and, for
    an encrypted desk, its data key): ``actor``/``role`` are written as given, nothing is refused
    on role grounds.
    """

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime] = vn_now,
        actor: str = "",
        role: str = "clerk",
        account: Account | None = None,
    ):
        self.store = store
        self.clock = clock
        self.account = account
        if account is not None:
            actor, role = account.display_name, account.role
        self.actor = actor or t("Cán bộ một cửa")
        self.role = role
        settings = self._settings()
        if "unit_eid" not in settings:
            raise NotInitialisedError(
                t(
                    "Cơ sở dữ liệu {path} chưa được khởi tạo. Chạy «onestop init» hoặc «onestop demo».",
                    path=store.path,
                )
            )
        self.identity = identity_from_settings(settings)
        hours = hours_from_settings(settings)
        self.calendar = self._load_calendar(hours)
        year = self.clock().year
        calendar_cache.warm((year, year + 1))  # "due soon" may reach into January

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        clock: Callable[[], datetime] = vn_now,
        actor: str = "",
        role: str = "clerk",
        key: bytes | None = None,
        account: Account | None = None,
    ) -> Desk:
        """Open a desk; ``key`` is the data key of an encrypted one (from ``keyring.login``)."""
        if not path.exists():
            raise NotInitialisedError(
                t(
                    "Chưa có cơ sở dữ liệu {path}. Chạy «onestop init» hoặc «onestop demo».",
                    path=path,
                )
            )
        try:
            store = Store(path, key=key)
        except StoreKeyError as e:
            raise DeskError(str(e)) from e
        try:
            migrate.upgrade(store.write_engine)
        except migrate.SchemaError as e:
            store.close()
            raise DeskError(str(e)) from e
        # Events of a newer onestop stored by an older one: folded in now that they are known.
        replay_after_update(store)
        return cls(store, clock=clock, actor=actor, role=role, account=account)

    @classmethod
    def initialise(
        cls,
        path: Path,
        *,
        unit_eid: str,
        commune_code: str,
        commune_name: str = "",
        province_code: str | None = None,
        desk_no: int | None = None,
        desk_name: str = "",
        clock: Callable[[], datetime] = vn_now,
        actor: str = "",
        role: str = "clerk",
        key: bytes | None = None,
        account: Account | None = None,
    ) -> Desk:
        """Create the database, record the desk identity, load the catalogue and units.

        ``key``: create it encrypted (the caller writes the keyring that wraps the key).

        ``desk_no`` None: the desk has no number yet (issue 16). It never pretends to be desk 01:
        it is desk ``00`` (reserved, ``<commune>-00`` in its log until enrolment) with a random
        6-digit tag in its dossier codes (``...-00TTTTTTNNNN``, domain/codes.py), which cannot
        clash with a numbered desk; ``onestop enroll`` gives it the number the province assigns.
        """
        try:
            unit_eid = validate_unit_eid(unit_eid)
        except ValueError as e:
            raise DeskError(str(e)) from e
        try:
            commune_name = clean_field("commune_name", commune_name)
            desk_name = clean_field("desk_name", desk_name)
        except FieldError as e:
            raise DeskError(str(e)) from e
        commune_code = commune_code.strip()
        if not _COMMUNE_RE.match(commune_code):
            raise DeskError(t("Mã xã phải gồm đúng 5 chữ số (QĐ 19/2025/QĐ-TTg), ví dụ 16279."))
        if desk_no is not None and not 1 <= desk_no <= 99:
            raise DeskError(t("Số hiệu quầy phải từ 1 đến 99."))
        try:
            store = Store(path, key=key)
        except StoreKeyError as e:
            raise DeskError(str(e)) from e
        migrate.upgrade(store.write_engine)
        with store.write() as db:
            if db.get(Setting, "unit_eid") is not None:
                store.close()
                raise DeskError(t("Cơ sở dữ liệu {path} đã được khởi tạo trước đó.", path=path))
            provinces = {u.code: u.name for u in catalogue_units()}
            if province_code is None:
                province_code = _province_of(unit_eid, provinces)
            if province_code not in provinces:
                raise DeskError(
                    t("Mã tỉnh {code} không thuộc 34 tỉnh, thành phố.", code=province_code)
                )
            values = {
                "unit_eid": unit_eid,
                "commune_code": commune_code,
                "commune_name": commune_name or t("Xã {code}", code=commune_code),
                "province_code": province_code,
                "province_name": provinces[province_code],
                "desk_no": str(desk_no or PROVISIONAL_DESK_NO),
                "desk_name": desk_name
                or (t("Quầy {n}", n=desk_no) if desk_no else t("Quầy chưa có số")),
                "office_hours": OfficeHours().format(),
                "same_day_cutoff": "15:00",
                "created_at": clock().isoformat(timespec="seconds"),
            }
            if desk_no is None:
                values[S_DESK_TAG] = str(secrets.randbelow(TAG_MAX + 1))
            for k, v in values.items():
                db.add(Setting(key=k, value=v))
            catalogue.import_catalogue(
                db=db, procedures=catalogue.parse_catalogue(catalogue.default_catalogue_text())
            )
            for u in catalogue_units():
                db.add(u)
        return cls(store, clock=clock, actor=actor, role=role, account=account)

    def close(self) -> None:
        self.store.close()

    # ------------------------------------------------------------------ accounts and roles

    @property
    def data_key(self) -> bytes | None:
        """The SQLCipher key of an encrypted desk (``None``: a plain SQLite desk)."""
        return self.store.key

    @property
    def roles(self) -> tuple[str, ...]:
        return self.account.roles if self.account is not None else (self.role,)

    def _acting_role(self, kind: EventKind) -> str:
        """The role recorded on the event; refuses (``DeskError``) what the account may not do."""
        if self.account is None or kind not in ACTION_ROLES:
            return self.role  # unrestricted API, or a system kind the lifecycle refuses itself
        try:
            return acting_role(self.account.roles, kind).value
        except RoleError as e:
            raise DeskError(str(e)) from e

    def require(self, permission: Permission) -> None:
        """Refuse desk administration (calendar, catalogue, users...) to non-admin accounts.

        The one rule for every ``Permission`` (``domain/roles.py``): a logged-in account needs a
        role holding it; a desk opened without an account (a plain desk, the programmatic API)
        is not restricted, like ``_acting_role``."""
        if self.account is None:
            return
        try:
            require_permission(self.account.roles, permission)
        except RoleError as e:
            raise DeskError(str(e)) from e

    def allows(self, permission: Permission) -> bool:
        """Whether ``require(permission)`` would pass: the TUI hides what it would refuse."""
        return self.account is None or permitted(self.account.roles, permission)

    def two_person_rule(self) -> bool:
        return self.setting("two_person_rule", "0") == "1"

    def idle_lock_minutes(self) -> int:
        try:
            return max(0, int(self.setting("idle_lock_minutes", str(DEFAULT_IDLE_LOCK_MINUTES))))
        except ValueError:
            return DEFAULT_IDLE_LOCK_MINUTES

    # ------------------------------------------------------------------ settings, calendar

    def _settings(self) -> dict[str, str]:
        with self.store.read() as db:
            return {s.key: s.value for s in db.exec(select(Setting)).all()}

    def setting(self, key: str, default: str = "") -> str:
        return self._settings().get(key, default)

    def set_setting(self, key: str, value: str) -> None:
        if key in ADMIN_SETTINGS:
            self.require(Permission.SETTINGS)
        value = _clean_setting(key, value)
        with self.store.write() as db:
            db.merge(Setting(key=key, value=value))

    def _load_calendar(self, hours: OfficeHours) -> WorkCalendar:
        with self.store.read() as db:
            rows = db.exec(select(CalendarDay)).all()
        return WorkCalendar([override_from_row(r.day, r.kind, r.note) for r in rows], hours)

    def calendar_overrides(self) -> list[CalendarOverride]:
        with self.store.read() as db:
            rows = db.exec(select(CalendarDay).order_by(col(CalendarDay.day))).all()
        return [override_from_row(r.day, r.kind, r.note) for r in rows]

    def set_calendar_day(self, day: date, kind: DayKind | None, note: str = "") -> None:
        """Add (or with ``kind=None`` remove) a local day off / make-up working day."""
        self.require(Permission.CALENDAR)
        self.apply_calendar_day(day, kind, note)

    def apply_calendar_day(self, day: date, kind: DayKind | None, note: str = "") -> None:
        """``set_calendar_day`` without the role check: the province's calendar, delivered by
        sync over the channel an admin pinned at enrollment, is not a person's edit."""
        try:
            note = clean_field("calendar_note", note)
        except FieldError as e:
            raise DeskError(str(e)) from e
        with self.store.write() as db:
            existing = db.get(CalendarDay, day.isoformat())
            if kind is None:
                if existing is not None:
                    db.delete(existing)
            else:
                db.merge(CalendarDay(day=day.isoformat(), kind=kind.value, note=note))
        self.calendar = self._load_calendar(self.calendar.hours)

    def set_office_hours(self, hours: OfficeHours) -> None:
        self.require(Permission.CALENDAR)
        with self.store.write() as db:
            db.merge(Setting(key="office_hours", value=hours.format()))
            db.merge(Setting(key="same_day_cutoff", value=hours.same_day_cutoff.strftime("%H:%M")))
        self.calendar = self._load_calendar(hours)

    # ------------------------------------------------------------------ catalogue

    def find_procedures(
        self, query: str, *, day: date | None = None, limit: int = 20
    ) -> list[ProcedureInfo]:
        with self.store.read() as db:
            return catalogue.find_procedures(
                db=db, query=query, day=day or self.clock().date(), limit=limit
            )

    def procedure(self, code: str, *, day: date | None = None) -> ProcedureInfo:
        with self.store.read() as db:
            return self._procedure_in(db, code, day or self.clock().date())

    def _procedure_in(self, db: Tx, code: str, day: date) -> ProcedureInfo:
        try:
            return catalogue.in_force(db=db, code=code.strip(), day=day)
        except catalogue.CatalogueError as e:
            raise DeskError(str(e)) from e

    def fields(self) -> list[str]:
        with self.store.read() as db:
            return catalogue.all_fields(db=db)

    def procedure_short_names(self) -> dict[str, str]:
        """Procedure code -> the short name the dossier list shows (catalogue ``short_vi``)."""
        with self.store.read() as db:
            return catalogue.short_names(db=db)

    def import_catalogue(self, path: Path) -> tuple[int, int]:
        self.require(Permission.CATALOGUE)
        try:
            procedures = catalogue.load_catalogue_file(path)
        except catalogue.CatalogueError as e:
            raise DeskError(str(e)) from e
        with self.store.write() as db:
            return catalogue.import_catalogue(db=db, procedures=procedures)

    # ------------------------------------------------------------------ deadlines

    def due_for(
        self, procedure_code: str, received_at: datetime
    ) -> tuple[ProcedureInfo, datetime | None]:
        proc = self.procedure(procedure_code, day=received_at.date())
        return proc, compute_due(proc.limit, received_at, self.calendar)

    def soon_until(self, now: datetime) -> datetime:
        """End of the second working day after today: the dashboard's "due soon" horizon."""
        return due_soon_until(self.calendar, now)

    # ------------------------------------------------------------------ intake

    def preview_intake(self, form: IntakeForm) -> IntakePreview:
        """Validate the form and compute what the receipt will say. Saves nothing."""
        with self.store.read() as db:
            return self._validate(db, form, refusing=False)[0]

    def _validate(
        self, db: Tx, form: IntakeForm, *, refusing: bool
    ) -> tuple[IntakePreview, dict[str, Any]]:
        """``db``: where the catalogue is read (the intake's own write transaction)."""
        errors: dict[str, str] = {}
        now = self.clock()
        received_at = (form.received_at or now).replace(microsecond=0)
        if received_at > now + timedelta(minutes=5):
            errors["received_at"] = t("Thời điểm tiếp nhận không được ở tương lai.")
        proc: ProcedureInfo | None = None
        if not form.procedure_code.strip():
            errors["procedure"] = t("Chưa chọn thủ tục hành chính.")
        else:
            try:
                proc = self._procedure_in(db, form.procedure_code, received_at.date())
            except DeskError as e:
                errors["procedure"] = str(e)
        applicant = self._clean_person(
            form.applicant, "applicant", errors, id_required=not refusing, today=now.date()
        )
        proxy = None
        if form.proxy is not None and any(vars(form.proxy).values()):
            proxy = self._clean_person(
                form.proxy, "proxy", errors, id_required=True, today=now.date()
            )
            if form.proxy_paper.strip():
                proxy["paper"] = self._text(form.proxy_paper, "proxy_paper", errors, rule="paper")
        note = self._text(form.note, "note", errors)
        fee = form.fee_vnd
        basis = proc.fee_basis if proc else FeeBasis.UNKNOWN
        if fee is None:
            if proc is not None and clerk_sets_fee(basis) and not refusing:
                # No amount in the catalogue for this dossier: never guess "free".
                errors["fee"] = t(
                    "Thủ tục này không có mức phí, lệ phí cố định ({rule}). Nhập số tiền phải "
                    "nộp (nhập 0 nếu được miễn).",
                    rule=proc.fee_label,
                )
            fee = (proc.fee_vnd or 0) if proc and not clerk_sets_fee(basis) else 0
        if not isinstance(fee, int) or isinstance(fee, bool) or fee < 0:
            errors["fee"] = t("Phí, lệ phí phải là số nguyên không âm (đồng).")
            fee = 0
        documents: tuple[str, ...] = ()
        if proc is not None:
            if form.documents is None:
                documents = proc.documents
            else:
                try:
                    documents = clean_documents(form.documents)
                except FieldError as e:
                    errors["documents"] = str(e)
        due: datetime | None = None
        if proc is not None:
            due = compute_due(proc.limit, received_at, self.calendar)
            if form.due_override is not None:
                if due is not None:
                    errors["due"] = t(
                        "Thủ tục này có thời hạn theo quy định; không được tự đặt ngày hẹn trả."
                    )
                elif form.due_override <= received_at:
                    errors["due"] = t("Ngày hẹn trả phải sau thời điểm tiếp nhận.")
                elif not self.calendar.is_working_day(form.due_override.date()):
                    errors["due"] = t("Ngày hẹn trả phải là ngày làm việc.")
                else:
                    due = form.due_override.replace(second=0, microsecond=0)
        if errors or proc is None:
            raise IntakeError(errors or {"procedure": t("Chưa chọn thủ tục hành chính.")})
        preview = IntakePreview(proc, received_at, due, fee, documents)
        data: dict[str, Any] = {
            "procedure": proc.code,
            "procedure_version": proc.version,
            "procedure_name": proc.name,
            "field": proc.field,
            "time_unit": proc.limit.unit.value,
            "time_value": proc.limit.value,
            "applicant": applicant,
            "channel": Channel(form.channel).value,
            "documents": list(documents),
            "fee": fee,
            "fee_basis": basis.value,
        }
        if proxy:
            data["proxy"] = proxy
        if due is not None:
            data["due"] = to_epoch(due)
        data["_note"] = note
        return preview, data

    def _text(
        self, value: str, key: str, errors: dict[str, str], *, rule: str | None = None
    ) -> str:
        """One field through the policy of domain/fields.py (``rule``: its row, default ``key``)."""
        try:
            return clean_field(rule or key, value or "")
        except FieldError as e:
            errors[key] = str(e)
            return ""

    def _clean_person(
        self, p: Applicant, prefix: str, errors: dict[str, str], *, id_required: bool, today: date
    ) -> dict[str, str]:
        who = t("người nộp") if prefix == "applicant" else t("người được ủy quyền")
        name = self._text(p.name, f"{prefix}_name", errors, rule="name")
        if not name and f"{prefix}_name" not in errors:
            errors[f"{prefix}_name"] = t("Chưa nhập họ tên {who}.", who=who)
        id_number = re.sub(r"\s", "", p.id_number or "")
        if id_number:
            try:
                parse_cccd(id_number, today=today)
            except CccdError as e:
                errors[f"{prefix}_id"] = str(e)
        elif id_required:
            errors[f"{prefix}_id"] = t("Chưa nhập số định danh cá nhân (CCCD) của {who}.", who=who)
        phone = normalise_phone(p.phone or "")
        if phone and not _PHONE_RE.match(phone):
            errors[f"{prefix}_phone"] = t(
                "Số điện thoại không hợp lệ: cần 10–11 chữ số, bắt đầu bằng 0 (hoặc +84)."
            )
        email = self._text(p.email, f"{prefix}_email", errors, rule="email")
        if email and not _EMAIL_RE.match(email):
            errors[f"{prefix}_email"] = t("Địa chỉ email không hợp lệ.")
        address = self._text(p.address, f"{prefix}_address", errors, rule="address")
        person = {"name": name, "id": id_number, "phone": phone, "address": address, "email": email}
        return {k: v for k, v in person.items() if v}

    def clock_warning(self) -> str | None:
        """A clear Vietnamese warning when this desk's clock is off the province's signed time
        by more than ``CLOCK_SKEW_WARN_S`` (offset stored at each sync; None: fine or unknown).

        Intake is never blocked by it (the law requires receiving the dossier): the CLI prints
        it after ``receive`` and the desk shows it, with the offset and what to do.
        """
        try:
            skew = int(self.setting(S_SKEW, "0") or 0)
        except ValueError:
            return None
        if abs(skew) <= CLOCK_SKEW_WARN_S:
            return None
        minutes = round(abs(skew) / 60)
        offset = (
            t("{d} ngày {h} giờ", d=minutes // 1440, h=minutes % 1440 // 60)
            if minutes >= 1440
            else t("{h} giờ {m} phút", h=minutes // 60, m=minutes % 60)
        )
        if skew < 0:  # the server is behind us: our clock runs ahead
            return t(
                "Cảnh báo: đồng hồ máy này đang NHANH hơn giờ của máy chủ tỉnh {offset}. Thời "
                "điểm tiếp nhận và ngày hẹn trả ghi trên phiếu sẽ bị lệch theo. Hãy chỉnh lại "
                "ngày giờ của máy (hoặc báo quản trị), rồi đồng bộ lại; kiểm tra ngày hẹn trả "
                "trên phiếu trước khi giao cho công dân.",
                offset=offset,
            )
        return t(
            "Cảnh báo: đồng hồ máy này đang CHẬM hơn giờ của máy chủ tỉnh {offset}. Thời điểm "
            "tiếp nhận và ngày hẹn trả ghi trên phiếu sẽ bị lệch theo. Hãy chỉnh lại ngày giờ "
            "của máy (hoặc báo quản trị), rồi đồng bộ lại; kiểm tra ngày hẹn trả trên phiếu "
            "trước khi giao cho công dân.",
            offset=offset,
        )

    def receive(self, form: IntakeForm) -> DossierState:
        """Accept a dossier: validate, allocate its code, append the receive event. One transaction.

        Never refused for a wrong clock; callers show ``clock_warning()`` after it.
        """
        # Every statement of an intake is on the DB-API connection (store/rawsql.py): no ORM
        # session is set up for it at all (issue 19 §2).
        with self.store.write_raw() as tx:
            return self._receive_unflushed(tx, form)

    def receive_in(self, db: Session, form: IntakeForm) -> DossierState:
        """``receive`` inside the caller's write transaction (bulk loads: demo, benchmarks)."""
        # The intake's statements run on the session's DB-API connection (store/rawsql.py),
        # which first flushes whatever ORM changes the caller has pending: nothing of the
        # intake waits in the session.
        return self._receive_unflushed(db, form)

    def _receive_unflushed(self, db: Tx, form: IntakeForm) -> DossierState:
        role = self._acting_role(EventKind.RECEIVE)
        preview, data = self._validate(db, form, refusing=False)
        note = data.pop("_note")
        code = self._next_code(db, preview.received_at.date())
        event = self._append(
            db, EventKind.RECEIVE, code, note, data, at=preview.received_at, role=role
        )
        state = apply(None, event)
        if form.fee_paid_now and preview.fee_vnd > 0:
            pay = self._append(
                db,
                EventKind.RECORD_PAYMENT,
                code,
                "",
                {"amount": preview.fee_vnd, "method": "cash"},
                at=preview.received_at,
                role=role,
            )
            state = apply(state, pay)
        save_dossier(db=db, state=state)
        return state

    def refuse_intake(self, form: IntakeForm, reason: str) -> DossierState:
        """Refuse at intake (Phiếu từ chối): recorded with a code so the slip can cite it."""
        with self.store.write_raw() as tx:  # as receive
            return self._refuse_unflushed(tx, form, reason)

    def refuse_intake_in(self, db: Session, form: IntakeForm, reason: str) -> DossierState:
        return self._refuse_unflushed(db, form, reason)  # as receive_in

    def _refuse_unflushed(self, db: Tx, form: IntakeForm, reason: str) -> DossierState:
        role = self._acting_role(EventKind.REFUSE)
        try:
            reason = clean_field("reason", reason)
        except FieldError as e:
            raise IntakeError({"reason": str(e)}) from e
        if not reason:
            raise IntakeError({"reason": t("Phải ghi rõ lý do từ chối tiếp nhận hồ sơ.")})
        preview, data = self._validate(db, form, refusing=True)
        note = data.pop("_note")
        data.pop("due", None)
        data["reason"] = reason
        code = self._next_code(db, preview.received_at.date())
        event = self._append(
            db, EventKind.REFUSE, code, note, data, at=preview.received_at, role=role
        )
        state = apply(None, event)
        save_dossier(db=db, state=state)
        return state

    def _next_code(self, db: Tx, day: date) -> str:
        desk_no = self.identity.desk_no
        tag = self._desk_tag(db)
        if desk_no == PROVISIONAL_DESK_NO and tag is None:
            raise DeskError(t("Quầy chưa có số hiệu và thiếu mã tạm; hãy đăng ký với tỉnh."))
        number = next_code_number(db, day.isoformat())
        return make_dossier_code(self.identity.unit_eid, day, desk_no, number, tag=tag)

    # The tag as read in the last transaction that asked (its code and its slip numbers both
    # need it): read once per transaction, never carried into the next one.
    _tag_read: tuple[RawConnection, int | None] | None = None

    def _desk_tag(self, db: Tx) -> int | None:
        """The tag of a desk with no number yet (its codes and slip numbers carry it), read in
        the transaction; ``None`` for a numbered desk or a missing/garbled tag."""
        if self.identity.desk_no != PROVISIONAL_DESK_NO:
            return None
        con = connection_of(db)
        if self._tag_read is not None and self._tag_read[0] is con:
            return self._tag_read[1]
        value = read_settings(con, (S_DESK_TAG,)).get(S_DESK_TAG, "")
        tag = int(value) if value.isdigit() else None
        self._tag_read = (con, tag)
        return tag

    @property
    def numbered(self) -> bool:
        """False until the province gives this desk its number (``onestop enroll``)."""
        return self.identity.desk_no != PROVISIONAL_DESK_NO

    def _append(
        self,
        db: Tx,
        kind: EventKind,
        code: str,
        note: str,
        data: dict[str, Any],
        *,
        at: datetime | None = None,
        role: str | None = None,
    ) -> Event:
        # Revoked desk, or too long offline: refused here, the one door every event goes
        # through (services/lockdown.py; imported late, it imports this module).
        from onestop.services.lockdown import check_append

        check_append(self, db, kind)
        at = at or self.clock()
        if kind in DOCS_OF_EVENT and NUMBERS_KEY not in data:
            data = {**data, NUMBERS_KEY: self._slip_numbers(db, kind, at.year)}
        try:
            return append_event(
                db=db,
                desk_id=self.identity.desk_id,
                kind=kind,
                dossier=code,
                at=at,
                actor=self.actor,
                role=role or self.role,
                note=note,
                data=data,
            )
        except FieldError as e:  # the last guard: what the server would refuse is never written
            raise DeskError(str(e)) from e

    def _slip_numbers(self, db: Tx, kind: EventKind, year: int) -> dict[str, str]:
        """Allocate the slip numbers of an event (domain/numbering.py), in its transaction."""
        try:  # a desk with no number yet: its tag, as in its dossier codes
            desk = desk_part(self.identity.desk_no, self._desk_tag(db))
        except ValueError:
            raise DeskError(
                t("Quầy chưa có số hiệu và thiếu mã tạm; hãy đăng ký với tỉnh.")
            ) from None
        keys = {doc: counter_key(desk, year, doc) for doc in DOCS_OF_EVENT[kind]}
        stored = read_settings(db, tuple(keys.values()))
        last = {
            doc: int(v) if (v := stored.get(key, "")).isdigit() else 0 for doc, key in keys.items()
        }
        numbers, new_last = allocate(kind, desk=desk, last=last)
        write_settings(db, {keys[doc]: str(seq) for doc, seq in new_last.items()})
        return numbers

    def _partial_payment(self, db: Session, state: DossierState) -> bool:
        """Whether this dossier's fee may be paid in instalments (domain/payments.py)."""
        row = db.get(Setting, S_PARTIAL_PAYMENTS)
        if row is not None and row.value == "1":
            return True
        received = next(
            (e for e in events_for(db=db, dossier=state.code) if e.kind == EventKind.RECEIVE),
            None,
        )
        basis = received.data.get("fee_basis") if received is not None else None
        if not isinstance(basis, str):  # a dossier received before the fee basis was recorded
            try:
                basis = catalogue.in_force(
                    db=db, code=state.procedure_code, day=state.received_at.date()
                ).fee_basis.value
            except catalogue.CatalogueError:
                basis = None
        return partial_allowed(basis)

    # ------------------------------------------------------------------ lifecycle actions

    def act(
        self,
        code: str,
        action: EventKind | str,
        params: dict[str, Any] | None = None,
        *,
        note: str = "",
    ) -> DossierState:
        """Apply one lifecycle action. Refused actions raise ``DeskError`` and change nothing."""
        try:
            kind = EventKind(action)
        except ValueError:
            raise DeskError(
                t(
                    "Thao tác không tồn tại: {action}. Các thao tác: {all}.",
                    action=action,
                    all=", ".join(EventKind),
                )
            ) from None
        if kind == EventKind.RECEIVE:
            raise DeskError(t("Tiếp nhận hồ sơ mới dùng «onestop receive», không dùng «act»."))
        if kind in FILE_KINDS:
            raise DeskError(
                t("Đính kèm hoặc gỡ bản số hóa dùng «onestop attach», không dùng «act».")
            )
        if kind in SYSTEM_KINDS:
            raise DeskError(t("«{action}» do phần mềm ghi, không phải một thao tác.", action=kind))
        note = _clean_note(note)
        with self.store.write() as db:
            return self.act_in(db, code, kind, dict(params or {}), note=note)

    def act_in(
        self, db: Session, code: str, kind: EventKind, params: dict[str, Any], *, note: str = ""
    ) -> DossierState:
        """``act`` inside the caller's write transaction."""
        note = _clean_note(note)
        role = self._acting_role(kind)
        now = self.clock()
        state = get_dossier(db=db, code=code.strip().upper())
        if state is None:
            raise DeskError(t("Không tìm thấy hồ sơ {code}.", code=code))
        if self.account is not None:
            self._check_two_person(db, state.code, kind)
        partial = kind == EventKind.RECORD_PAYMENT and self._partial_payment(db, state)
        try:
            data = decide(state, kind, params, now, self.calendar, partial_payment=partial)
        except LifecycleError as e:
            raise DeskError(str(e)) from e
        event = self._append(db, kind, state.code, note, data, at=now, role=role)
        new_state = apply(state, event)
        save_dossier(db=db, state=new_state)
        return new_state

    def append_in(
        self,
        db: Session,
        state: DossierState,
        kind: EventKind,
        data: dict[str, Any],
        *,
        role: str,
        note: str = "",
    ) -> DossierState:
        """Append an event that is not a lifecycle action (``FILE_KINDS``: the attachment use
        cases, services/attachments.py, which check their own rules) with its projection, in
        the caller's write transaction, through the same door as every event."""
        event = self._append(db, kind, state.code, _clean_note(note), data, role=role)
        new_state = apply(state, event)
        save_dossier(db=db, state=new_state)
        return new_state

    def _check_two_person(self, db: Session, code: str, kind: EventKind) -> None:
        if not self.two_person_rule():
            return
        received = next(
            (e for e in events_for(db=db, dossier=code) if e.kind == EventKind.RECEIVE), None
        )
        if received is None:
            return
        try:
            check_two_person(kind, self.actor, received.actor)
        except RoleError as e:
            raise DeskError(str(e)) from e

    # ------------------------------------------------------------------ reading

    def get(self, code: str) -> DossierState:
        with self.store.read() as db:
            state = get_dossier(db=db, code=code.strip().upper())
        if state is None:
            raise DeskError(t("Không tìm thấy hồ sơ {code}.", code=code))
        return state

    def history(self, code: str) -> list[Event]:
        with self.store.read() as db:
            return events_for(db=db, dossier=code.strip().upper())

    def page(
        self, flt: DossierFilter | None = None, *, after_id: int | None = None, limit: int = 200
    ) -> Page:
        now = self.clock()
        with self.store.raw_read() as con:  # one statement: no Session (issue 19 §2)
            return list_dossiers(
                con=con,
                flt=flt or DossierFilter(),
                now=now,
                soon_until=self.soon_until(now),
                after_id=after_id,
                limit=limit,
            )

    def count(self, flt: DossierFilter | None = None) -> int:
        """How many dossiers match ``flt`` in all (``page`` returns one page of them)."""
        now = self.clock()
        with self.store.raw_read() as con:
            return count_dossiers(
                con=con, flt=flt or DossierFilter(), now=now, soon_until=self.soon_until(now)
            )

    def counts(self) -> Counts:
        now = self.clock()
        with self.store.read() as db:
            return dashboard_counts(db=db, now=now, soon_until=self.soon_until(now))

    def dashboard(self) -> Dashboard:
        """Today's counts and whether today is a working day (what the desk's dashboard shows)."""
        with self.store.read() as db:
            return dashboard_of(
                self.calendar,
                self.clock(),
                lambda now, soon: dashboard_counts(db=db, now=now, soon_until=soon),
            )

    def conflicts(self, *, unseen_only: bool = False) -> list[Any]:
        """Conflicting actions of two desks on one dossier, newest first (services/conflicts.py:
        ``Conflict`` items with a plain Vietnamese ``description``)."""
        from onestop.services.sync.conflicts import list_conflicts

        return list(list_conflicts(self, unseen_only=unseen_only))

    def mark_conflict_seen(self, conflict_id: str) -> bool:
        """Record that this desk's clerk has seen a conflict (False if it already was)."""
        from onestop.services.sync.conflicts import mark_seen

        return mark_seen(self, conflict_id)

    def outbox_size(self) -> int:
        """Events of this desk not yet acknowledged by the province (all, until sync lands)."""
        acked = int(self.setting(S_ACKED, "0") or 0)
        with self.store.read() as db:
            st = db.get(DeskState, self.identity.desk_id)
        return (st.last_seq if st else 0) - acked

    # ------------------------------------------------------------------ rebuild

    def rebuild(self, *, fix: bool = True) -> RebuildReport:
        """Recompute every projection from the event log and verify every desk's hash chain."""
        chain_errors = self._verify_chains()
        fixed: list[str] = []
        n_dossiers = n_events = 0
        undecodable: list[str] = []
        with self.store.read() as db:
            for code, events in _group_by_dossier(db, undecodable):
                n_dossiers += 1
                n_events += len(events)
                state: DossierState | None = None
                for e in events:
                    state = apply(state, e)
                assert state is not None
                row = db.exec(select(DossierRow).where(DossierRow.code == code)).first()
                if row is None or state_to_values(row_to_state(row)) != state_to_values(state):
                    fixed.append(code)
            orphans = [
                c
                for (c,) in db.execute(
                    text(
                        "SELECT code FROM dossier WHERE code NOT IN (SELECT DISTINCT dossier FROM event)"
                    )
                ).all()
            ]
        fixed.extend(c for c in orphans if not any(b.startswith(c + " ") for b in undecodable))
        chain_errors.extend(undecodable)
        if fix and fixed:
            with self.store.write() as db:
                for code in fixed:
                    evs = events_for(db=db, dossier=code)
                    if not evs:
                        db.execute(
                            text(
                                "DELETE FROM dossier_fts WHERE rowid IN (SELECT id FROM dossier WHERE code=:c)"
                            ),
                            {"c": code},
                        )
                        db.execute(text("DELETE FROM dossier WHERE code=:c"), {"c": code})
                        continue
                    st: DossierState | None = None
                    for e in evs:
                        st = apply(st, e)
                    assert st is not None
                    save_dossier(db=db, state=st)
        return RebuildReport(n_dossiers, n_events, fixed, chain_errors)

    def _verify_chains(self) -> list[str]:
        errors: list[str] = []
        with self.store.read() as db:
            heads: dict[str, tuple[int, bytes]] = {}
            for row in iter_event_rows(db=db):
                prev_seq, prev_head = heads.get(row.desk_id, (0, GENESIS_HEAD))
                if row.seq != prev_seq + 1:
                    errors.append(
                        t("Quầy {d}: thiếu sự kiện số {n}.", d=row.desk_id, n=prev_seq + 1)
                    )
                expected = chain(prev_head, row.body)
                if expected != row.head:
                    errors.append(
                        t("Quầy {d}: chuỗi băm sai tại sự kiện {n}.", d=row.desk_id, n=row.seq)
                    )
                try:
                    ev = row_to_event(row)
                    if ev.seq != row.seq or ev.dossier != row.dossier or ev.kind.value != row.kind:
                        errors.append(
                            t(
                                "Quầy {d}: sự kiện {n} không khớp nội dung.",
                                d=row.desk_id,
                                n=row.seq,
                            )
                        )
                except ValueError as e:
                    errors.append(f"{row.desk_id}#{row.seq}: {e}")
                heads[row.desk_id] = (row.seq, row.head)
            for desk_id, (seq, head) in heads.items():
                st = db.get(DeskState, desk_id)
                if st is None or st.last_seq != seq or st.head != head:
                    errors.append(
                        t("Quầy {d}: trạng thái chuỗi không khớp sự kiện cuối.", d=desk_id)
                    )
        return errors

    def integrity_check(self) -> str:
        with self.store.read() as db:
            return str(db.execute(text("PRAGMA integrity_check")).scalar_one())


def _clean_setting(key: str, value: str) -> str:
    """The desk settings printed on slips, through the same policy as every printed field."""
    if key == S_CONTACT_PHONE:
        phone = normalise_phone(value or "")
        if phone and not _PHONE_RE.match(phone):
            raise DeskError(
                t("Số điện thoại không hợp lệ: cần 10–11 chữ số, bắt đầu bằng 0 (hoặc +84).")
            )
        return phone
    if key == S_HEAD_OF_UNIT:
        try:
            return clean_field("name", value or "")
        except FieldError as e:
            raise DeskError(str(e)) from e
    if key == S_PARTIAL_PAYMENTS and value not in ("0", "1"):
        raise DeskError(t("Giá trị phải là 0 (không) hoặc 1 (có)."))
    if key == S_RECEIPT_PAPER and value not in RECEIPT_PAPERS:
        raise DeskError(
            t("Khổ giấy biên nhận phải là một trong: {choices}.", choices=", ".join(RECEIPT_PAPERS))
        )
    return value


def _group_by_dossier(db: Session, bad: list[str]) -> Iterator[tuple[str, list[Event]]]:
    """Stream events grouped by dossier in causal order, using the (dossier, hlc) index.

    An event whose bytes no longer decode is reported in ``bad`` and its dossier skipped:
    a damaged log must be shown to a person, never "repaired" by guessing.
    """
    result = db.execute(
        select(EventRow).order_by(
            col(EventRow.dossier), col(EventRow.hlc), col(EventRow.desk_id), col(EventRow.seq)
        )
    )
    current: str | None = None
    bucket: list[Event] = []
    broken = False
    for (row,) in result:
        if row.dossier != current:
            if current is not None and not broken:
                yield current, bucket
            current, bucket, broken = row.dossier, [], False
        try:
            bucket.append(row_to_event(row))
        except EventFormatError as e:
            bad.append(f"{row.dossier} ({row.desk_id}#{row.seq}): {e}")
            broken = True
    if current is not None and not broken:
        yield current, bucket


def catalogue_units() -> list[Unit]:
    import csv

    from onestop.paths import asset_path

    with asset_path("units", "units.csv").open(encoding="utf-8") as f:
        return [
            Unit(
                code=r["code"],
                name=r["name"],
                level=r["level"],
                parent_code=r["parent_code"] or None,
                effective_from=r["effective_from"],
                effective_to=r["effective_to"] or None,
            )
            for r in csv.DictReader(f)
        ]


# Old province letters in unit e-IDs (QĐ 20/2020, e.g. H56 = Thanh Hóa) are not a clean map to
# the 2025 codes, so we only guess when the e-ID carries no hint; `init --province` overrides.
_EID_PROVINCE_HINTS = {"H56": "38"}


def _province_of(unit_eid: str, provinces: dict[str, str]) -> str:
    for group in unit_eid.split("."):
        if group in _EID_PROVINCE_HINTS:
            return _EID_PROVINCE_HINTS[group]
    raise DeskError(
        t(
            "Không suy ra được tỉnh từ mã đơn vị {eid}; hãy ghi rõ --province (ví dụ 38).",
            eid=unit_eid,
        )
    )


def state_json(state: DossierState) -> dict[str, Any]:
    """A JSON-ready view of a dossier for ``--json`` output and the API."""
    values = state_to_values(state)
    for k in ("proxy", "documents", "evaluation"):
        values[k] = json.loads(values[k])
    return values


def event_json(e: Event) -> dict[str, Any]:
    return {
        "desk": e.desk_id,
        "seq": e.seq,
        "kind": e.kind.value,
        "at": e.at.isoformat(sep=" "),
        "actor": e.actor,
        "role": e.role,
        "note": e.note,
        "data": e.data,
    }


__all__ = [
    "Applicant",
    "Desk",
    "DeskError",
    "IntakeError",
    "IntakeForm",
    "IntakePreview",
    "NotInitialisedError",
    "RebuildReport",
    "Status",
    "vn_now",
]
