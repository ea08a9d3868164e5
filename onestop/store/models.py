"""The desk's SQLite tables (SQLModel). The schema is owned by Alembic (migrations/desk).

``event`` is the source of truth; ``dossier`` is its projection and can always be rebuilt
(``onestop rebuild``). Times are stored as ISO text "YYYY-MM-DD HH:MM:SS" in local Vietnam
time: it sorts correctly, is readable in any SQLite shell, and needs no timezone juggling.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, LargeBinary, MetaData, text
from sqlmodel import Field, SQLModel

# A naming convention before any table, so Alembic batch migrations can name constraints.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


class Setting(SQLModel, table=True):
    """Desk identity and preferences as key/value pairs (unit e-ID, desk number, hours...)."""

    key: str = Field(primary_key=True)
    value: str


class DeskState(SQLModel, table=True):
    """One row per desk whose events we hold: the chain head and last sequence."""

    __tablename__ = "desk_state"
    desk_id: str = Field(primary_key=True)
    last_seq: int = 0
    head: bytes = Field(default=bytes(32), sa_column=Column(LargeBinary, nullable=False))
    hlc: int = 0


class EventRow(SQLModel, table=True):
    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_dossier", "dossier", "hlc"),
        # Who recorded each dossier's return (the tracking book; desk migration 0006).
        Index(
            "ix_event_return",
            "dossier",
            "hlc",
            "desk_id",
            "seq",
            sqlite_where=text("kind = 'return_result'"),
        ),
    )
    desk_id: str = Field(primary_key=True)
    seq: int = Field(primary_key=True)
    hlc: int
    kind: str
    dossier: str
    at: str
    actor: str
    role: str
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    head: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class DossierRow(SQLModel, table=True):
    __tablename__ = "dossier"
    __table_args__ = (
        Index("ix_dossier_status", "status"),
        Index("ix_dossier_received", "received_at", "code"),
        # Partial index: only dossiers whose legal clock runs. Dashboard counts (due today,
        # overdue, due soon) are range scans over this small set even with 1M dossiers.
        Index("ix_dossier_running_due", "due_at", sqlite_where=text("clock_running = 1")),
        Index("ix_dossier_field_received", "field", "received_at"),
        Index("ix_dossier_finished", "finished_at", "received_at"),
        # The list's «no due date» filter, newest first (migration 0005).
        Index("ix_dossier_no_due", "id", sqlite_where=text("due_at IS NULL")),
        # The tracking book's returns in a period of dossiers received before it (migration 0006).
        Index(
            "ix_dossier_returned",
            "returned_at",
            "received_at",
            sqlite_where=text("returned_at IS NOT NULL"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True)
    owner_desk: str
    procedure_code: str
    procedure_version: int
    procedure_name: str
    field: str
    time_unit: str
    time_value: int | None = None
    applicant_name: str
    applicant_id: str = ""
    applicant_phone: str = ""
    applicant_address: str = ""
    applicant_email: str = ""
    proxy: str = "{}"
    channel: str
    documents: str = "[]"
    fee_vnd: int = 0
    fee_paid: int = 0
    received_at: str
    due_at: str | None = None
    original_due_at: str | None = None
    status: str
    clock_running: bool = False
    handler: str = ""
    decision: str | None = None
    decision_reason: str = ""
    paused_at: str | None = None
    resume_status: str | None = None
    supplement_count: int = 0
    extension_count: int = 0
    resolved_at: str | None = None
    finished_at: str | None = None
    returned_at: str | None = None
    return_channel: str | None = None
    refusal_reason: str = ""
    evaluation: str = "{}"
    last_event_at: str | None = None
    event_count: int = 0


class CodeCounter(SQLModel, table=True):
    """The desk's daily dossier counter, advanced in the same transaction as the intake."""

    __tablename__ = "code_counter"
    day: str = Field(primary_key=True)
    last: int = 0


class Procedure(SQLModel, table=True):
    """One version of one procedure of the catalogue, in force from ``effective_from``."""

    __table_args__ = (Index("ix_procedure_code_from", "code", "effective_from"),)
    id: int | None = Field(default=None, primary_key=True)
    code: str
    version: int
    name: str
    field: str
    time_value: int | None = None
    time_unit: str
    same_day_cutoff: str | None = None
    fee_vnd: int | None = None
    fee_rule: str = ""  # a research note: never displayed (domain/catalogue.NOTE_COLUMNS)
    handled_by: str = ""
    documents: str = "[]"
    effective_from: str
    effective_to: str | None = None
    search_key: str = ""
    # The catalogue's display texts (domain/catalogue.DISPLAY_COLUMNS); "" on versions imported
    # before they existed, which then show the generic labels.
    fee_basis: str = Field(default="", sa_column_kwargs={"server_default": ""})
    fee_vi: str = Field(default="", sa_column_kwargs={"server_default": ""})
    time_vi: str = Field(default="", sa_column_kwargs={"server_default": ""})
    short_vi: str = Field(default="", sa_column_kwargs={"server_default": ""})


class CalendarDay(SQLModel, table=True):
    """A local override of the working-day calendar: an extra day off or a make-up working day."""

    __tablename__ = "calendar_day"
    day: str = Field(primary_key=True)
    kind: str
    note: str = ""


class Unit(SQLModel, table=True):
    """Administrative units (34 provinces, communes), versioned with effective dates."""

    __table_args__ = (Index("ix_unit_parent", "parent_code"),)
    id: int | None = Field(default=None, primary_key=True)
    code: str
    name: str
    level: str
    parent_code: str | None = None
    effective_from: str = "2025-07-01"
    effective_to: str | None = None
