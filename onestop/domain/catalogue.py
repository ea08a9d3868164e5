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
from onestop.domain.fields import FieldRule, clean_documents, clean_field
from onestop.domain.text import clean_text
from onestop.i18n import get_language, t

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
# The product's own display texts, in Vietnamese, written for clerks and citizens: what the fee
# is (``fee_vi``, e.g. "10.000 đồng/trường hợp") and the legal time limit in words (``time_vi``),
# and the fee's basis as data (``fee_basis``, a :class:`FeeBasis` value). Optional so that a
# catalogue file made before they existed still loads: then the basis is read from ``fee_rule``
# and the texts are the generic ones (:func:`fee_basis_label`, ``TimeLimit.describe_vi``).
DISPLAY_COLUMNS = ("fee_basis", "fee_vi", "time_vi", "short_vi")
# ``short_vi``: the name as the dossier list shows it in SHORT_NAME_MAX cells ("CT chữ ký"),
# written so that no two procedures read alike (six read "Chứng thực c" when names were cut).
SHORT_NAME_MAX = 14
# Research notes: where a figure comes from, how sure it is ("[V]" verified, "[S]" secondary),
# in English. Kept in the file for whoever maintains the catalogue; NEVER shown on a screen, a
# slip or a web page (tests/services/test_catalogue_texts.py holds every display to that).
NOTE_COLUMNS = ("fee_rule", "tag", "notes")


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
    fee_rule: str  # a research note (NOTE_COLUMNS): never displayed
    handled_by: str
    documents: tuple[str, ...]
    effective_from: date
    effective_to: date | None
    basis: FeeBasis | None = None  # the catalogue's ``fee_basis``; None: read from fee_rule
    fee_vi: str = ""
    time_vi: str = ""
    short_vi: str = ""

    @property
    def short_name(self) -> str:
        return self.short_vi or short_procedure_name(self.name)

    @property
    def fee_basis(self) -> FeeBasis:
        return self.basis if self.basis is not None else fee_basis(self.fee_vnd, self.fee_rule)

    @property
    def fee_label(self) -> str:
        """The fee's basis with what the clerk must do, for messages at intake (never the
        English ``fee_rule`` note)."""
        return fee_basis_label(self.fee_basis, self.fee_vnd)

    @property
    def fee_text(self) -> str:
        """The fee in words, as the catalogue states it (``fee_vi``) for a Vietnamese screen;
        the generic label in another language or when the catalogue has no text."""
        if self.fee_vi and get_language() == "vi":
            return self.fee_vi
        if self.fee_basis == FeeBasis.FIXED and self.fee_vnd is not None:
            return format_dong(self.fee_vnd)
        return self.fee_label

    def time_text(self, default_cutoff: time | None = None) -> str:
        """The legal time limit in words (``time_vi``) for a Vietnamese screen; the wording
        computed from the limit in another language or when the catalogue has none."""
        if self.time_vi and get_language() == "vi":
            return self.time_vi
        return self.limit.describe_vi(default_cutoff)


# The display texts are checked like the name (the same character policy and bound).
_FEE_TEXT = FieldRule("fee_vi", "Mô tả phí, lệ phí", 300)
_TIME_TEXT = FieldRule("time_vi", "Mô tả thời hạn giải quyết", 300)
_SHORT_NAME = FieldRule("short_vi", "Tên ngắn của thủ tục", SHORT_NAME_MAX)

# Abbreviations every commune office reads (longest first), for a name without ``short_vi``:
# a catalogue file from before the column, or a procedure known only from another desk's event.
_ABBREVIATIONS = (
    ("Giấy chứng nhận quyền sử dụng đất", "GCN QSDĐ"),
    ("quyền sử dụng đất", "QSDĐ"),
    ("Giấy chứng nhận", "GCN"),
    ("cộng tác viên", "CTV"),
    ("Chứng thực", "CT"),
    ("Đăng ký", "ĐK"),
    ("văn bản", "VB"),
    ("giao dịch", "GD"),
    ("hộ tịch", "HT"),
    ("Ủy ban nhân dân", "UBND"),
)


def short_procedure_name(name: str, width: int = SHORT_NAME_MAX) -> str:
    """``name`` in at most ``width`` cells: common abbreviations first, then cut with "…"."""
    short = name
    for long, abbr in _ABBREVIATIONS:
        short = re.sub(re.escape(long), abbr, short, flags=re.IGNORECASE)
    return short if len(short) <= width else short[: width - 1].rstrip(" ,(–-") + "…"


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
            basis_text = (row.get("fee_basis") or "").strip()
            if basis_text and basis_text not in set(FeeBasis):
                raise ValueError(
                    t(
                        "cột fee_basis phải là một trong: {choices}",
                        choices=", ".join(b.value for b in FeeBasis),
                    )
                )
            basis = FeeBasis(basis_text) if basis_text else None
            if basis == FeeBasis.FREE and fee not in (None, 0):
                raise ValueError(t("thủ tục miễn phí phải có fee_vnd bằng 0 hoặc để trống"))
            if basis == FeeBasis.FIXED and not fee:
                raise ValueError(t("mức phí cố định cần số tiền ở cột fee_vnd"))
            if basis == FeeBasis.FREE:
                fee = 0
            fee_vi = clean_field(_FEE_TEXT, row.get("fee_vi") or "")
            time_vi = clean_field(_TIME_TEXT, row.get("time_vi") or "")
            short_vi = clean_field(_SHORT_NAME, row.get("short_vi") or "")
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
                basis=basis,
                fee_vi=fee_vi,
                time_vi=time_vi,
                short_vi=short_vi,
            )
        )
    if not out:
        raise CatalogueError(t("{source}: không có thủ tục nào.", source=source))
    return out
