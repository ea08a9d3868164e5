"""The procedure catalogue: versions with effective dates, loaded from CSV.

A dossier is pinned to the version in force when it was received: the receive event copies
the version number, name, field, time limit and fee, so later catalogue edits never rewrite
an old dossier's deadline.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path

from sqlmodel import Session, col, select

from onestop.domain.codes import validate_procedure_code
from onestop.domain.deadlines import TimeLimit, TimeUnit
from onestop.domain.text import clean_text, search_key
from onestop.i18n import t
from onestop.paths import asset_path
from onestop.store.models import Procedure

CATALOGUE_COLUMNS = (
    "code",
    "version",
    "effective_from",
    "effective_to",
    "name_vi",
    "field_vi",
    "time_value",
    "time_unit",
    "same_day_cutoff",
    "fee_vnd",
    "fee_rule",
    "handled_by",
    "documents",
)


class CatalogueError(ValueError):
    """A catalogue file or lookup a clerk/admin must fix."""


@dataclass(frozen=True)
class ProcedureInfo:
    code: str
    version: int
    name: str
    field: str
    limit: TimeLimit
    fee_vnd: int | None
    fee_rule: str
    handled_by: str
    documents: tuple[str, ...]
    effective_from: date
    effective_to: date | None


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
    )


def parse_catalogue(text: str, *, source: str = "catalogue") -> list[Procedure]:
    """Parse and validate a whole catalogue CSV; any bad row rejects the file (nothing half-imported)."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CATALOGUE_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise CatalogueError(
            t("{source}: thiếu cột {cols}.", source=source, cols=", ".join(missing))
        )
    out: list[Procedure] = []
    seen: set[tuple[str, int]] = set()
    for n, row in enumerate(reader, start=2):
        where = t("{source}, dòng {n}", source=source, n=n)
        try:
            code = validate_procedure_code(row["code"] or "")
            version = int(row["version"])
            eff_from = date.fromisoformat(row["effective_from"])
            eff_to = date.fromisoformat(row["effective_to"]) if row["effective_to"] else None
            if eff_to is not None and eff_to <= eff_from:
                raise ValueError(t("ngày hết hiệu lực phải sau ngày có hiệu lực"))
            unit = TimeUnit(row["time_unit"])
            value = int(row["time_value"]) if row["time_value"] else None
            if value is not None and value < 0:
                raise ValueError(t("thời hạn không được âm"))
            cutoff = row["same_day_cutoff"] or None
            if cutoff:
                time.fromisoformat(cutoff)
            fee = int(row["fee_vnd"]) if row["fee_vnd"] else None
            if fee is not None and fee < 0:
                raise ValueError(t("phí không được âm"))
            name = clean_text(row["name_vi"])
            field = clean_text(row["field_vi"])
            if not name or not field:
                raise ValueError(t("thiếu tên thủ tục hoặc lĩnh vực"))
            docs = [clean_text(d) for d in (row["documents"] or "").split("|") if d.strip()]
        except (ValueError, KeyError) as e:
            raise CatalogueError(f"{where}: {e}") from e
        if (code, version) in seen:
            raise CatalogueError(
                t("{where}: trùng mã {code} phiên bản {v}.", where=where, code=code, v=version)
            )
        seen.add((code, version))
        out.append(
            Procedure(
                code=code,
                version=version,
                name=name,
                field=field,
                time_value=value,
                time_unit=unit.value,
                same_day_cutoff=cutoff,
                fee_vnd=fee,
                fee_rule=clean_text(row["fee_rule"] or ""),
                handled_by=clean_text(row["handled_by"] or ""),
                documents=json.dumps(docs, ensure_ascii=False),
                effective_from=eff_from.isoformat(),
                effective_to=eff_to.isoformat() if eff_to else None,
                search_key=search_key(code, name, field),
            )
        )
    if not out:
        raise CatalogueError(t("{source}: không có thủ tục nào.", source=source))
    return out


def default_catalogue_text() -> str:
    return asset_path("catalogue", "procedures.csv").read_text(encoding="utf-8")


def import_catalogue(*, db: Session, procedures: list[Procedure]) -> tuple[int, int]:
    """Add new (code, version) rows; existing versions are kept as they are. Returns (added, kept)."""
    existing = {(p.code, p.version) for p in db.exec(select(Procedure)).all()}
    added = 0
    for p in procedures:
        if (p.code, p.version) in existing:
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


def in_force(*, db: Session, code: str, day: date) -> ProcedureInfo:
    rows = db.exec(
        select(Procedure)
        .where(Procedure.code == code)
        .order_by(col(Procedure.effective_from).desc())
    ).all()
    if not rows:
        raise CatalogueError(t("Không có thủ tục mã {code} trong danh mục.", code=code))
    iso = day.isoformat()
    for p in rows:
        if p.effective_from <= iso and (p.effective_to is None or iso < p.effective_to):
            return to_info(p)
    raise CatalogueError(
        t(
            "Thủ tục {code} không có phiên bản nào có hiệu lực ngày {day:%d/%m/%Y}.",
            code=code,
            day=day,
        )
    )


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


def all_fields(*, db: Session) -> list[str]:
    return sorted(set(db.exec(select(Procedure.field)).all()))
