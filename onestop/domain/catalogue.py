"""The procedure catalogue as a file: its columns and the strict parse of a whole CSV (pure; the
desk stores the result, the server checks files before it publishes them)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, time

from onestop.domain.codes import validate_procedure_code
from onestop.domain.deadlines import TimeLimit, TimeUnit
from onestop.domain.fields import clean_documents, clean_field
from onestop.domain.text import clean_text
from onestop.i18n import t

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


def parse_catalogue(text: str, *, source: str = "catalogue") -> list[ProcedureInfo]:
    """Parse and validate a whole catalogue CSV; any bad row rejects the file (nothing half-imported)."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CATALOGUE_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise CatalogueError(
            t("{source}: thiếu cột {cols}.", source=source, cols=", ".join(missing))
        )
    out: list[ProcedureInfo] = []
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
            # Name, field and documents are copied into every receive event: the event field
            # policy (domain/fields.py) applies, so a catalogue cannot make a desk's events
            # unsyncable.
            name = clean_field("procedure_name", row["name_vi"])
            field = clean_field("field", row["field_vi"])
            if not name or not field:
                raise ValueError(t("thiếu tên thủ tục hoặc lĩnh vực"))
            docs = list(clean_documents((row["documents"] or "").split("|")))
            limit = TimeLimit(unit, value, time.fromisoformat(cutoff) if cutoff else None)
        except (ValueError, KeyError) as e:
            raise CatalogueError(f"{where}: {e}") from e
        if (code, version) in seen:
            raise CatalogueError(
                t("{where}: trùng mã {code} phiên bản {v}.", where=where, code=code, v=version)
            )
        seen.add((code, version))
        out.append(
            ProcedureInfo(
                code=code,
                version=version,
                name=name,
                field=field,
                limit=limit,
                fee_vnd=fee,
                fee_rule=clean_text(row["fee_rule"] or ""),
                handled_by=clean_text(row["handled_by"] or ""),
                documents=tuple(docs),
                effective_from=eff_from,
                effective_to=eff_to,
            )
        )
    if not out:
        raise CatalogueError(t("{source}: không có thủ tục nào.", source=source))
    return out
