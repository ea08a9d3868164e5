"""The provincial server's tables (SQLModel), owned by Alembic in migrations/server.

They live in their own ``MetaData`` (a separate SQLModel registry), never in
``SQLModel.metadata``, which is the desk's: each schema's ``alembic check`` then compares only
its own tables, and a desk database never grows server tables or the reverse.

All state is here, so any number of stateless workers can serve one PostgreSQL database.
Times are epoch seconds (UTC) on the server: it serves every commune, and integers compare
the same in SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, LargeBinary, MetaData, Text, text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
_registry = registry(metadata=metadata)


class ServerModel(SQLModel, registry=_registry):
    """Base of every server table: binds them to the server ``metadata``."""


def _blob(nullable: bool = False) -> Column[bytes]:
    return Column(LargeBinary, nullable=nullable)


def _bigint(nullable: bool = False) -> Column[int]:
    return Column(BigInteger, nullable=nullable)


class ServerDesk(ServerModel, table=True):
    """An enrolled desk: its public key, status, and how far its log has been accepted."""

    __tablename__ = "server_desk"
    __table_args__ = (
        Index("ix_server_desk_commune", "commune"),
        Index("ix_server_desk_kid", "kid"),
    )
    desk_id: str = Field(primary_key=True)
    commune: str
    desk_no: int
    desk_name: str = ""
    unit_eid: str = ""
    alg: int
    public_key: bytes = Field(sa_column=_blob())
    kid: bytes = Field(sa_column=_blob())
    status: str = "active"  # active | revoked
    enrolled_at: int = Field(sa_column=_bigint())
    revoked_at: int | None = Field(default=None, sa_column=_bigint(nullable=True))
    acked_seq: int = Field(default=0, sa_column=_bigint())
    head: bytes = Field(default=bytes(32), sa_column=_blob())
    hlc_max: int = Field(default=0, sa_column=_bigint())
    last_seen_at: int | None = Field(default=None, sa_column=_bigint(nullable=True))
    #: The desk's outbox after its last accepted batch (events it held that the server had not
    #: received yet), from the signed envelope; None until a desk that reports it syncs.
    outbox: int | None = Field(default=None, sa_column=_bigint(nullable=True))


class ServerCommune(ServerModel, table=True):
    """A commune's name as its desks call it (sent at enrollment): the province's units list
    holds provinces only, so without this the dashboard could show nothing but 5-digit codes.
    One row per commune, so the figures can join it; the last desk to enroll names it."""

    __tablename__ = "server_commune"
    commune: str = Field(primary_key=True)
    name: str
    updated_at: int = Field(sa_column=_bigint())


class EnrollCode(ServerModel, table=True):
    """A one-time enrollment code; only its SHA-256 is stored."""

    __tablename__ = "server_enroll_code"
    code_hash: bytes = Field(sa_column=Column(LargeBinary, primary_key=True))
    commune: str
    desk_no: int
    desk_name: str = ""
    created_at: int = Field(sa_column=_bigint())
    expires_at: int = Field(sa_column=_bigint())
    used_at: int | None = Field(default=None, sa_column=_bigint(nullable=True))
    desk_id: str | None = None


class ServerEvent(ServerModel, table=True):
    """Every accepted event, forever: the exact bytes the desk chained, and the chain head."""

    __tablename__ = "server_event"
    __table_args__ = (Index("ix_server_event_dossier", "dossier", "hlc", "desk_id", "seq"),)
    desk_id: str = Field(primary_key=True)
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hlc: int = Field(sa_column=_bigint())
    kind: str
    dossier: str
    body: bytes = Field(sa_column=_blob())
    head: bytes = Field(sa_column=_blob())
    accepted_at: int = Field(sa_column=_bigint())


class ServerBatch(ServerModel, table=True):
    """One accepted batch: the idempotency record. Replays get ``ack`` back byte for byte."""

    __tablename__ = "server_batch"
    desk_id: str = Field(primary_key=True)
    first_seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    last_seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    identity: bytes = Field(sa_column=_blob())
    ack: bytes = Field(sa_column=_blob())
    accepted_at: int = Field(sa_column=_bigint())


class ServerDossier(ServerModel, table=True):
    """The server's projection of one dossier, rebuilt from events with the desk's own rules.

    ``state`` is the JSON of ``state_to_values`` (sorted keys), the same values the desk keeps
    in its ``dossier`` row; the columns beside it exist for queries (commune, status, due).
    ``last_*`` is the (hlc, desk, seq) of the last event folded in: a later event is applied
    on top, an earlier one (a late arrival) triggers a replay of the dossier's whole log.
    """

    __tablename__ = "server_dossier"
    __table_args__ = (
        Index("ix_server_dossier_commune", "commune", "status"),
        # The province figures' candidates: received before the end of the period and not
        # finished before its start (server/web/province.py). Both bounds are indexed, so a
        # month reads that month's dossiers and the ones open across its start, not history.
        Index("ix_server_dossier_received", "received_at"),
        Index("ix_server_dossier_finished_key", "finished_key", "received_at"),
        # The few dossiers the figures classify from this table (server_figure.simple = 0).
        Index(
            "ix_server_dossier_not_simple",
            "received_at",
            sqlite_where=text("ms_simple = 0"),
            postgresql_where=text("ms_simple = 0"),
        ),
    )
    code: str = Field(primary_key=True)
    commune: str
    owner_desk: str
    status: str
    received_at: str
    due_at: str | None = None
    last_hlc: int = Field(sa_column=_bigint())
    last_desk: str
    last_seq: int = Field(sa_column=_bigint())
    event_count: int
    state: str = Field(sa_column=Column(Text, nullable=False))
    # What the province figures read, as columns (times as "YYYY-MM-DD HH:MM:SS" text, like
    # received_at and the desk's dossier table): the desk's own Biểu 06 columns, then the
    # milestones of domain/milestones.py, which classify the dossier at the end of any period
    # without replaying its log (and are read back to fold the next batch on top).
    field: str = ""
    channel: str = ""
    finished_at: str | None = None
    resolved_at: str | None = None
    returned_at: str | None = None
    last_event_at: str | None = None
    extension_count: int = 0
    finished_key: str = "9999-12-31 23:59:59"  # finished_at, or the end of time while open
    ms_simple: int = 0
    fin_at: str | None = None
    fin_b: int | None = None
    sup_from: str | None = None
    sup_to: str | None = None
    due0: str | None = None
    due1_at: str | None = None
    due1: str | None = None
    due2_at: str | None = None
    due2: str | None = None


class ServerFigure(ServerModel, table=True):
    """What the province figures scan, one narrow row per dossier (issue 19 §1): the columns
    of ``server_dossier`` that classify it in Biểu 06, times as integers. Written by ingest
    in the batch's transaction, beside the dossier row; a refused-at-intake dossier (which no
    report counts) has none.

    ``server_dossier`` rows carry the state JSON, about a kilobyte each: a year's candidates
    at a million dossiers were half a gigabyte of heap to read on every cold request. These
    rows are a tenth of that, and integers compare without collation rules.

    Times are the wall-clock (Vietnam) time as seconds since 1970-01-01 00:00, read as if it
    were UTC (``ingest.clock_seconds``): ordered like the text columns, and the same number
    in SQLite and PostgreSQL. ``simple`` is ``ms_simple``: the other dossiers (rare) are
    classified from ``server_dossier`` as before; their rows here serve the evaluations.
    """

    __tablename__ = "server_figure"
    __table_args__ = (
        # Bounded by the period on both sides (server/web/province.py): finished at or after
        # its start (fin_key, the end of time while open), received before its end.
        Index("ix_server_figure_fin_key", "fin_key", "received"),
        # ... and received before the end of an old period, still open at its end.
        Index("ix_server_figure_received", "received", "fin_key"),
        Index("ix_server_figure_commune", "commune", "fin_key"),
    )
    code: str = Field(primary_key=True)
    commune: str
    field: str
    online: int  # 1 when the channel is online (Biểu 06's intake column), else 0
    simple: int
    received: int = Field(sa_column=_bigint())
    fin_key: int = Field(sa_column=_bigint())  # finished_at, or the end of time while open
    fin_b: int | None = None  # the outcome at the finish (a simple log's finish is fin_key)
    sup_from: int | None = Field(default=None, sa_column=_bigint(nullable=True))
    sup_to: int | None = Field(default=None, sa_column=_bigint(nullable=True))
    due0: int | None = Field(default=None, sa_column=_bigint(nullable=True))
    due1_at: int | None = Field(default=None, sa_column=_bigint(nullable=True))
    due1: int | None = Field(default=None, sa_column=_bigint(nullable=True))
    due2_at: int | None = Field(default=None, sa_column=_bigint(nullable=True))
    due2: int | None = Field(default=None, sa_column=_bigint(nullable=True))


class ServerEvaluation(ServerModel, table=True):
    """A citizen's evaluation event, as the province's satisfaction figures read it: every
    ``evaluate`` event accepted, with its time and answers as columns (the figures would
    otherwise decode event bodies), and the dossier's commune, field and reception."""

    __tablename__ = "server_evaluation"
    __table_args__ = (
        Index("ix_server_evaluation_at", "at"),
        Index("ix_server_evaluation_dossier", "dossier"),
    )
    desk_id: str = Field(primary_key=True)
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    dossier: str
    at: str
    satisfaction: int
    # The dossier's commune, field and reception (clock seconds, as server_figure), copied by
    # ingest so the figures group evaluations without joining a million dossiers (issue 19
    # §1); None while the dossier's receive has not arrived (the figures then skip it, as a
    # join would). Set once: none of them changes after the receive.
    commune: str | None = None
    field: str | None = None
    received: int | None = Field(default=None, sa_column=_bigint(nullable=True))
    s1: int = 0
    s2: int = 0
    s3: int = 0
    s4: int = 0
    s5: int = 0
    s6: int = 0
    s7: int = 0
    s8: int = 0
    s9: int = 0


class ReferenceItem(ServerModel, table=True):
    """Reference data served to desks (catalogue, calendar, units, trust list, revocations)."""

    __tablename__ = "server_reference"
    name: str = Field(primary_key=True)
    version: int = Field(sa_column=_bigint())
    sha256: bytes = Field(sa_column=_blob())
    data: bytes = Field(sa_column=_blob())
    updated_at: int = Field(sa_column=_bigint())


class ServerSetting(ServerModel, table=True):
    """Server-wide values: the signing key (PKCS#8), the reference version counter."""

    __tablename__ = "server_setting"
    key: str = Field(primary_key=True)
    value: bytes = Field(sa_column=_blob())


class ServerStaff(ServerModel, table=True):
    """A province staff account for the web dashboard (``onestop server add-staff``).

    ``password_hash`` is ``scrypt$n$r$p$salt$hash`` (base64url), so the cost can rise later
    without invalidating existing accounts. ``failed_count``/``locked_until`` implement the
    lockout; ``session_version`` is part of every session cookie, so bumping it (log out,
    password reset) ends every open session of the account at once, on every worker.
    """

    __tablename__ = "server_staff"
    username: str = Field(primary_key=True)
    display_name: str = ""
    password_hash: str
    created_at: int = Field(sa_column=_bigint())
    failed_count: int = 0
    locked_until: int | None = Field(default=None, sa_column=_bigint(nullable=True))
    last_login_at: int | None = Field(default=None, sa_column=_bigint(nullable=True))
    session_version: int = 1


class ServerFile(ServerModel, table=True):
    """A digitised file the server holds whole (``server/files.py``): every chunk of its
    manifest is in the chunk store and the reassembled bytes hash to ``sha256``. Written once,
    by the first commit; a later commit of the same file (another desk, another dossier) finds
    it here and costs no payload."""

    __tablename__ = "server_file"
    sha256: str = Field(primary_key=True)
    size: int = Field(sa_column=_bigint())
    chunk_count: int
    desk_id: str  # the attach event that first completed it
    seq: int = Field(sa_column=_bigint())
    completed_at: int = Field(sa_column=_bigint())


class ServerEventAhead(ServerModel, table=True):
    """An accepted event whose time is more than ``AHEAD_LIMIT_S`` ahead of the server's clock
    when it arrived (``server/ingest.py``): a desk clock running fast writes future reception
    times, and the legal deadline would run late. Marked, never changed: the event stays as the
    desk chained and signed it; the province sees the count per desk (``onestop server
    desks``). A row only for marked events, so the common case costs nothing."""

    __tablename__ = "server_event_ahead"
    desk_id: str = Field(primary_key=True)
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    event_at: int = Field(sa_column=_bigint())  # the event's own time (epoch seconds)
    accepted_at: int = Field(sa_column=_bigint())
