"""The procedure catalogue: versions with effective dates, loaded from CSV.

A dossier is pinned to the version in force when it was received: the receive event copies
the version number, name, field, time limit and fee, so later catalogue edits never rewrite
an old dossier's deadline.
"""

from __future__ import annotations

import json
from datetime import date, time
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from onestop.domain.catalogue import CATALOGUE_COLUMNS as CATALOGUE_COLUMNS
from onestop.domain.catalogue import CatalogueError as CatalogueError
from onestop.domain.catalogue import FeeBasis
from onestop.domain.catalogue import ProcedureInfo as ProcedureInfo
from onestop.domain.catalogue import parse_catalogue as parse_info
from onestop.domain.deadlines import TimeLimit, TimeUnit
from onestop.domain.text import search_key
from onestop.i18n import t
from onestop.paths import asset_path
from onestop.store.models import Procedure
from onestop.store.rawsql import Tx, connection_of


def to_row(info: ProcedureInfo) -> Procedure:
    """The stored row of one parsed catalogue version (documents as JSON, dates as ISO text)."""
    cutoff = info.limit.cutoff
    return Procedure(
        code=info.code,
        version=info.version,
        name=info.name,
        field=info.field,
        time_value=info.limit.value,
        time_unit=info.limit.unit.value,
        same_day_cutoff=cutoff.isoformat(timespec="minutes") if cutoff else None,
        fee_vnd=info.fee_vnd,
        fee_rule=info.fee_rule,
        handled_by=info.handled_by,
        documents=json.dumps(list(info.documents), ensure_ascii=False),
        effective_from=info.effective_from.isoformat(),
        effective_to=info.effective_to.isoformat() if info.effective_to else None,
        search_key=search_key(info.code, info.name, info.field),
        fee_basis=info.basis.value if info.basis is not None else "",
        fee_vi=info.fee_vi,
        time_vi=info.time_vi,
        short_vi=info.short_vi,
    )


def parse_catalogue(text: str, *, source: str = "catalogue") -> list[Procedure]:
    """Parse and validate a whole catalogue CSV into rows; any bad row rejects the file."""
    return [to_row(info) for info in parse_info(text, source=source)]


def to_info(p: Procedure) -> ProcedureInfo:
    cutoff = time.fromisoformat(p.same_day_cutoff) if p.same_day_cutoff else None
    return ProcedureInfo(
        code=p.code,
        version=p.version,
        name=p.name,
        field=p.field,
        limit=TimeLimit(TimeUnit(p.time_unit), p.time_value, cutoff),
        fee_vnd=p.fee_vnd,
        fee_rule=p.fee_rule,
        handled_by=p.handled_by,
        documents=tuple(json.loads(p.documents)),
        effective_from=date.fromisoformat(p.effective_from),
        effective_to=date.fromisoformat(p.effective_to) if p.effective_to else None,
        basis=FeeBasis(p.fee_basis) if p.fee_basis in set(FeeBasis) else None,
        fee_vi=p.fee_vi,
        time_vi=p.time_vi,
        short_vi=p.short_vi,
    )


def default_catalogue_text() -> str:
    return asset_path("catalogue", "procedures.csv").read_text(encoding="utf-8")


def import_catalogue(*, db: Session, procedures: list[Procedure]) -> tuple[int, int]:
    """Add new (code, version) rows; existing versions are kept as they are, except that a
    version imported before the catalogue had display texts receives them (words only: its
    amount, time limit and documents never change). Returns (added, kept)."""
    existing = {(p.code, p.version): p for p in db.exec(select(Procedure)).all()}
    added = 0
    for p in procedures:
        old = existing.get((p.code, p.version))
        if old is not None:
            if not (old.fee_basis or old.fee_vi or old.time_vi) and (p.fee_vi or p.time_vi):
                old.fee_vi, old.time_vi, old.short_vi = p.fee_vi, p.time_vi, p.short_vi
                if p.fee_basis and to_info(p).fee_basis == to_info(old).fee_basis:
                    old.fee_basis = p.fee_basis  # the same basis, now stated rather than read
                db.add(old)
            continue
        db.add(p)
        added += 1
    return added, len(procedures) - added


def load_catalogue_file(path: Path) -> list[Procedure]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise CatalogueError(t("Không đọc được tệp danh mục {path}: {e}", path=path, e=e)) from e
    return parse_catalogue(text, source=str(path))


# The version in force on a day: the newest ``effective_from`` not after it, not yet ended.
_PROCEDURE_COLUMNS = (
    "code",
    "version",
    "name",
    "field",
    "time_value",
    "time_unit",
    "same_day_cutoff",
    "fee_vnd",
    "fee_rule",
    "handled_by",
    "documents",
    "effective_from",
    "effective_to",
    "fee_basis",
    "fee_vi",
    "time_vi",
    "short_vi",
)
_IN_FORCE_SQL = (
    f"SELECT {', '.join(_PROCEDURE_COLUMNS)} FROM procedure WHERE code = ? "
    "AND effective_from <= ? AND (effective_to IS NULL OR ? < effective_to) "
    "ORDER BY effective_from DESC LIMIT 1"
)
_KNOWN_SQL = "SELECT 1 FROM procedure WHERE code = ? LIMIT 1"
# Parsed versions keyed by their stored row, whole: every intake reads its row (one indexed
# SELECT on the transaction's connection, ~20 us), and only parsing it into a ProcedureInfo
# (~0.2 ms) is skipped when the row is one seen before. A catalogue import, another process's
# edit or a migration changes the row, hence the key: nothing to invalidate, nothing stale.
_PARSED: dict[tuple[Any, ...], ProcedureInfo] = {}
_PARSED_MAX = 2048


def in_force(*, db: Tx, code: str, day: date) -> ProcedureInfo:
    iso = day.isoformat()
    con = connection_of(db)
    row = con.execute(_IN_FORCE_SQL, (code, iso, iso)).fetchone()
    if row is None:
        if con.execute(_KNOWN_SQL, (code,)).fetchone() is None:
            raise CatalogueError(t("Không có thủ tục mã {code} trong danh mục.", code=code))
        raise CatalogueError(
            t(
                "Thủ tục {code} không có phiên bản nào có hiệu lực ngày {day:%d/%m/%Y}.",
                code=code,
                day=day,
            )
        )
    row = tuple(row)
    info = _PARSED.get(row)
    if info is None:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        info = _PARSED[row] = to_info(Procedure(**dict(zip(_PROCEDURE_COLUMNS, row, strict=True))))
    return info


def find_procedures(*, db: Session, query: str, day: date, limit: int = 20) -> list[ProcedureInfo]:
    """Accent-insensitive lookup by part of the name or code, only versions in force on ``day``."""
    words = search_key(query).split()
    iso = day.isoformat()
    stmt = select(Procedure).where(
        Procedure.effective_from <= iso,
        (col(Procedure.effective_to).is_(None)) | (col(Procedure.effective_to) > iso),
    )
    for w in words:
        stmt = stmt.where(col(Procedure.search_key).contains(w))
    return [to_info(p) for p in db.exec(stmt.order_by(col(Procedure.code)).limit(limit)).all()]


def short_names(*, db: Session) -> dict[str, str]:
    """Procedure code -> the name the dossier list shows (the newest version's short name)."""
    out: dict[str, str] = {}
    for p in db.exec(select(Procedure).order_by(col(Procedure.effective_from))).all():
        out[p.code] = to_info(p).short_name
    return out


def all_fields(*, db: Session) -> list[str]:
    return sorted(set(db.exec(select(Procedure.field)).all()))
