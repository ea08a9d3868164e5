"""The procedure catalogue as a file: its columns and the strict parse of a whole CSV (pure; the
desk stores the result, the server checks files before it publishes them)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, time
from enum import StrEnum

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


class FeeBasis(StrEnum):
    """How a procedure's fee is set, read from the catalogue's ``fee_vnd`` and ``fee_rule``.

    ``fee_rule`` is an English research note (REFERENCE.md §5): it is parsed here for its
    structure only and is never shown on a screen or a slip; :func:`fee_basis_label` is the
    Vietnamese text a clerk or a citizen sees. Only FREE and FIXED have an amount the desk may
    take from the catalogue; every other basis needs the clerk's amount at intake.
    """

    FREE = "free"  # fee_vnd = 0: an unconditional exemption
    FIXED = "fixed"  # a flat amount per dossier (per case, per transaction)
    PER_UNIT = "per_unit"  # per copy / per page (a unit price or a formula): the clerk counts
    PROVINCIAL = "provincial"  # set by the provincial council's resolution (HĐND tỉnh)
    CONDITIONAL = "conditional"  # exempt in the cases the law names, else set by HĐND tỉnh
    UNKNOWN = "unknown"  # no amount in the catalogue


# "8.000 đ/bản", "2.000 đ/trang": a price per copy or per page.
_PER_UNIT_RE = re.compile(r"đ\s*/\s*(bản|trang)", re.IGNORECASE)


def fee_basis(fee_vnd: int | None, fee_rule: str) -> FeeBasis:
    """The basis of a catalogue fee (see :class:`FeeBasis`)."""
    rule = fee_rule.casefold()
    if fee_vnd == 0:
        return FeeBasis.FREE
    per_unit = _PER_UNIT_RE.search(fee_rule) is not None
    if fee_vnd is not None:
        return FeeBasis.PER_UNIT if per_unit else FeeBasis.FIXED
    if per_unit:
        return FeeBasis.PER_UNIT
    if "hđnd" in rule:
        return FeeBasis.CONDITIONAL if rule.startswith("exempt") else FeeBasis.PROVINCIAL
    return FeeBasis.UNKNOWN


def clerk_sets_fee(basis: FeeBasis | str) -> bool:
    """Whether intake needs the clerk's amount (the catalogue has no amount for this dossier)."""
    return FeeBasis(basis) not in (FeeBasis.FREE, FeeBasis.FIXED)


def format_dong(amount: int) -> str:
    """ "50.000 đồng" (dots for thousands, as on the slips)."""
    return f"{amount:,}".replace(",", ".") + " đồng"


def fee_basis_label(basis: FeeBasis | str, fee_vnd: int | None = None) -> str:
    """The Vietnamese description of a catalogue fee, for the intake screen and messages."""
    b = FeeBasis(basis)
    if b == FeeBasis.FREE:
        return t("Miễn phí")
    if b == FeeBasis.FIXED and fee_vnd is not None:
        return format_dong(fee_vnd)
    if b == FeeBasis.PER_UNIT:
        if fee_vnd:
            return t(
                "Thu theo số bản, số trang ({price} mỗi đơn vị) — cán bộ tính và nhập tổng số tiền",
                price=format_dong(fee_vnd),
            )
        return t("Thu theo số bản, số trang — cán bộ tính và nhập tổng số tiền")
    if b == FeeBasis.PROVINCIAL:
        return t("Mức thu theo Nghị quyết của HĐND tỉnh — cán bộ nhập số tiền")
    if b == FeeBasis.CONDITIONAL:
        return t(
            "Miễn trong các trường hợp luật định; trường hợp khác thu theo Nghị quyết của HĐND "
            "tỉnh — cán bộ nhập số tiền (nhập 0 nếu được miễn)"
        )
    return t("Danh mục chưa có mức thu — cán bộ nhập số tiền theo văn bản hiện hành")


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

    @property
    def fee_basis(self) -> FeeBasis:
        return fee_basis(self.fee_vnd, self.fee_rule)

    @property
    def fee_label(self) -> str:
        """The fee as a clerk sees it (never the English ``fee_rule`` note)."""
        return fee_basis_label(self.fee_basis, self.fee_vnd)


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
