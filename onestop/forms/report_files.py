"""A report as a file: its table model (sections of columns) and the text, JSON, CSV, XLSX and
PDF renderings of it. The numbers come from services/reports.py."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date, datetime
from typing import Any

from onestop import __version__
from onestop.domain.payments import payment_method_label
from onestop.domain.reports import BookRow, Period
from onestop.domain.text import date_vi
from onestop.i18n import get_language, t


def day_text(d: date) -> str:
    """ND 30/2020 dates in Vietnamese ("ngày 05 tháng 02 năm 2026"), dd/mm/yyyy otherwise."""
    return date_vi(d) if get_language() == "vi" else f"{d:%d/%m/%Y}"


def period_line(p: Period) -> str:
    return t("Từ {start} đến {end}", start=day_text(p.start), end=day_text(p.end))


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    group: str = ""  # merged heading above (Biểu 06's three blocks)
    number: str = ""  # the form's column number, "(3)"
    kind: str = "int"  # int | text | money | float (2 decimals) | pct (1 decimal) | datetime


@dataclass
class Section:
    key: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    total: dict[str, Any] | None = None


@dataclass
class Report:
    kind: str
    form: str  # "Biểu số 06/VPCP/KSTT", or ""
    title: str
    period: Period
    period_label: str
    field: str | None
    unit: str
    sections: list[Section]
    notes: list[str]
    generated_at: datetime
    extra: dict[str, Any] = dc_field(default_factory=dict)
    book_rows: list[BookRow] = dc_field(default_factory=list)  # the book's one row model


def to_json(r: Report) -> dict[str, Any]:
    out: dict[str, Any] = {
        "report": r.kind,
        "form": r.form,
        "title": r.title,
        "period": r.period.as_json(),
        "period_label": r.period_label,
        "as_of": r.period.end_at.isoformat(sep=" "),
        "field": r.field,
        "unit": r.unit,
        "generated_at": r.generated_at.isoformat(sep=" ", timespec="seconds"),
        "sections": [
            {
                "key": s.key,
                "title": s.title,
                "columns": [
                    {"key": c.key, "label": c.label, "group": c.group, "number": c.number}
                    for c in s.columns
                ],
                "rows": s.rows,
                "total": s.total,
            }
            for s in r.sections
        ],
        "notes": r.notes,
    }
    out.update(r.extra)
    return out


def _shown(c: Column, v: Any) -> Any:
    """A value as people read it: payment methods are stored as codes (cash, transfer, online)
    and printed by name, in the report's language ("Tiền mặt"...). JSON keeps the codes."""
    if c.key == "method" and isinstance(v, str):
        return payment_method_label(v)
    return v


def cell_text(c: Column, v: Any) -> str:
    """A cell as every export writes it: dots for thousands, decimal commas, "—" for none."""
    v = _shown(c, v)
    if v is None:
        return "—"
    if c.kind == "money" and isinstance(v, int):
        return f"{v:,}".replace(",", ".")
    if c.kind == "float" and isinstance(v, float):
        return f"{v:.2f}".replace(".", ",")
    if c.kind == "pct" and isinstance(v, float):
        return f"{v:.1f}".replace(".", ",")
    return str(v)


def _heading(c: Column) -> str:
    return c.number or c.label


def _headings(r: Report) -> list[str]:
    """One line per heading title, for formats with no merged cells."""
    if r.period_label:
        return [r.form, r.title, r.period_label, period_line(r.period)]
    return [x for x in (r.form, r.title, period_line(r.period)) if x]


def to_text(r: Report) -> str:
    """A plain-text table for the terminal (numbered columns come with a legend)."""
    lines = list(_headings(r))
    lines.append(f"{r.unit}" + (f" — {t('Lĩnh vực')}: {r.field}" if r.field else ""))
    for s in r.sections:
        lines.append("")
        if len(r.sections) > 1:
            lines.append(s.title)
        numbered = any(c.number for c in s.columns) and r.kind == "bieu06"
        heads = [_heading(c) if numbered else c.label for c in s.columns]
        body = [[cell_text(c, row.get(c.key)) for c in s.columns] for row in s.rows]
        if s.total is not None:
            body.append([cell_text(c, s.total.get(c.key)) for c in s.columns])
        widths = [min(48, max([len(h)] + [len(b[i]) for b in body])) for i, h in enumerate(heads)]

        def fmt(cells: list[str], ws: list[int] = widths, cs: list[Column] = s.columns) -> str:
            out = []
            for cell, w, c in zip(cells, ws, cs, strict=True):
                cell = cell if len(cell) <= w else cell[: w - 1] + "…"
                out.append(cell.ljust(w) if c.kind in ("text", "datetime") else cell.rjust(w))
            return "  ".join(out).rstrip()

        lines.append(fmt(heads))
        lines.append("  ".join("-" * w for w in widths))
        lines.extend(fmt(b) for b in body[: len(s.rows)])
        if s.total is not None:
            lines.append("  ".join("-" * w for w in widths))
            lines.append(fmt(body[-1]))
        if not s.rows:
            lines.append(t("(không có số liệu)"))
        if numbered:
            lines.append("")
            lines.extend(
                f"{c.number} {c.group} — {c.label}" if c.group else f"{c.number} {c.label}"
                for c in s.columns
            )
    if r.notes:
        lines.append("")
        lines.append(t("Ghi chú:"))
        lines.extend(f"{i}. {n}" for i, n in enumerate(r.notes, start=1))
    return "\n".join(lines) + "\n"


def _flat_label(c: Column) -> str:
    label = f"{c.group} - {c.label}" if c.group else c.label
    return f"{label} {c.number}".strip()


def to_csv(r: Report) -> str:
    """UTF-8 CSV (the caller writes a BOM for Excel): one header row per section, raw numbers."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for i, s in enumerate(r.sections):
        if len(r.sections) > 1:
            if i:
                w.writerow([])
            w.writerow([s.title])
        w.writerow([_flat_label(c) for c in s.columns])
        for row in [*s.rows, *([s.total] if s.total is not None else [])]:
            w.writerow(
                ["" if row.get(c.key) is None else _shown(c, row.get(c.key)) for c in s.columns]
            )
    return buf.getvalue()


def _header_rows(s: Section) -> list[list[tuple[str, int, int]]]:
    """Heading rows as (text, colspan, rowspan) runs: group row, label row, number row."""
    grouped = any(c.group for c in s.columns)
    numbered = any(c.number for c in s.columns)
    rows: list[list[tuple[str, int, int]]] = []
    if grouped:
        top: list[tuple[str, int, int]] = []
        second: list[tuple[str, int, int]] = []
        i = 0
        cols = s.columns
        while i < len(cols):
            c = cols[i]
            if not c.group:
                top.append((c.label, 1, 2))
                i += 1
                continue
            j = i
            while j < len(cols) and cols[j].group == c.group:
                second.append((cols[j].label, 1, 1))
                j += 1
            top.append((c.group, j - i, 1))
            i = j
        rows += [top, second]
    else:
        rows.append([(c.label, 1, 1) for c in s.columns])
    if numbered:
        rows.append([(c.number, 1, 1) for c in s.columns])
    return rows


def to_xlsx(r: Report) -> bytes:
    """One sheet per section; headings merged like the printed form; numbers stay numbers."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    center = Alignment(horizontal="center", vertical="center", wrap_text=True)
    bold = Font(bold=True)
    first = True
    for s in r.sections:
        ws = wb.active if first else wb.create_sheet()
        first = False
        ws.title = re.sub(r"[\\/*?:\[\]]", "-", s.title)[:31] or "-"
        ncol = len(s.columns)
        y = 1
        for i, line in enumerate([*_headings(r), r.unit + (f" — {r.field}" if r.field else "")]):
            ws.cell(row=y, column=1, value=line)
            ws.merge_cells(start_row=y, start_column=1, end_row=y, end_column=ncol)
            ws.cell(row=y, column=1).alignment = Alignment(horizontal="center", wrap_text=True)
            ws.cell(row=y, column=1).font = Font(bold=i <= 1, italic=i > 1)
            y += 1
        if len(r.sections) > 1:
            ws.cell(row=y, column=1, value=s.title).font = bold
            y += 1
        y += 1
        occupied: set[tuple[int, int]] = set()
        for runs in _header_rows(s):
            x = 1
            for label, span, down in runs:
                while (y, x) in occupied:
                    x += 1
                cell = ws.cell(row=y, column=x, value=label)
                cell.alignment = center
                cell.font = bold
                for yy in range(y, y + down):
                    for xx in range(x, x + span):
                        occupied.add((yy, xx))
                        ws.cell(row=yy, column=xx).border = box
                if span > 1 or down > 1:
                    ws.merge_cells(
                        start_row=y, start_column=x, end_row=y + down - 1, end_column=x + span - 1
                    )
                x += span
            y += 1
        for row in [*s.rows, *([s.total] if s.total is not None else [])]:
            is_total = row is s.total
            for x, c in enumerate(s.columns, start=1):
                v = _shown(c, row.get(c.key))
                if c.key == "stt" and isinstance(v, str) and v.isdigit():
                    v = int(v)
                cell = ws.cell(row=y, column=x, value=v)
                cell.border = box
                if is_total:
                    cell.font = bold
                if c.kind == "money":
                    cell.number_format = "#,##0"
                elif c.kind == "float":
                    cell.number_format = "0.00"
                elif c.kind == "pct":
                    cell.number_format = "0.0"
                if c.kind in ("text", "datetime"):
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
            y += 1
        y += 1
        widths = []
        for x, c in enumerate(s.columns, start=1):
            width = 6 if c.key == "stt" else 28 if c.kind in ("text", "datetime") else 12
            if c.key in ("formula", "note", "procedure_name"):
                width = 48
            widths.append(width)
            ws.column_dimensions[get_column_letter(x)].width = width
        for i, note in enumerate(r.notes, start=1):
            cell = ws.cell(row=y, column=1, value=f"{i}. {note}")
            cell.font = Font(italic=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            ws.merge_cells(start_row=y, start_column=1, end_row=y, end_column=ncol)
            lines = -(-len(cell.value) // max(20, int(sum(widths) * 1.1)))
            ws.row_dimensions[y].height = 15 * lines
            y += 1
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def to_pdf(r: Report, *, identity: Any, now: datetime) -> bytes:
    """A4 landscape in the slips' style (Liberation Serif, ND 30/2020 dates), with footnotes.

    The tracking book is drawn by the slips' own BM.06 renderer from the same rows (and cells)
    as the other formats, one book per field.
    """
    if r.kind == "book":
        from onestop.forms.slips import render_book_rows

        return render_book_rows(
            r.book_rows,
            identity,
            field=r.field or "",
            start=r.period.start,
            end=r.period.end,
            now=now,
        )
    from onestop.forms.page import FAMILY, nfc
    from onestop.forms.pdf import Signer, Writer, line_height, new_pdf

    pdf = new_pdf(
        landscape=True,
        footer_left=f"{r.unit} · onestop {__version__}",
        footer_right=t("In lúc {at}", at=f"{now:%H:%M %d/%m/%Y}"),
        page_numbers=True,
    )
    pdf.set_creation_date(now.astimezone() if now.tzinfo else now)
    pdf.set_title(nfc(f"{r.form or r.title} - {r.period.start:%d/%m/%Y}-{r.period.end:%d/%m/%Y}"))
    pdf.set_creator(f"onestop {__version__}")
    pdf.set_author(nfc(r.unit))
    pdf.add_page()
    w = Writer(pdf, 12.0)
    x0, top, width = pdf.l_margin, pdf.t_margin, pdf.text_width
    side = 70.0
    # The statistical-form head (TT 01/2020 layout): form number left, units right, title centre.
    if r.form:
        w.font("B", 11)
        pdf.set_xy(x0, top)
        pdf.multi_cell(side, line_height(11), nfc(r.form.upper()), align="L")
        if r.kind == "bieu06":
            w.font("I", 9.5)
            pdf.set_x(x0)
            pdf.multi_cell(
                side,
                line_height(9.5),
                nfc(t("Ban hành kèm theo Thông tư số 01/2020/TT-VPCP")),
                align="L",
            )
    w.font("", 10.5)
    pdf.set_xy(x0 + width - side, top)
    right = [t("Đơn vị báo cáo: {unit}", unit=r.unit)]
    if r.kind == "bieu06":
        right.append(t("Đơn vị tính: Số hồ sơ TTHC"))
    pdf.multi_cell(side, line_height(10.5), nfc("\n".join(right)), align="L")
    head_bottom = pdf.get_y()
    pdf.set_xy(x0 + side, top)
    w.font("B", 13)
    pdf.multi_cell(width - 2 * side, line_height(13), nfc(r.title), align="C")
    w.font("", 12)
    if r.period_label:
        pdf.set_x(x0 + side)
        pdf.multi_cell(
            width - 2 * side,
            line_height(12),
            nfc(t("Kỳ báo cáo: {label}", label=r.period_label)),
            align="C",
        )
    w.font("I", 12)
    pdf.set_x(x0 + side)
    pdf.multi_cell(width - 2 * side, line_height(12), nfc(period_line(r.period)), align="C")
    if r.field:
        w.font("B", 12)
        pdf.set_x(x0 + side)
        pdf.multi_cell(
            width - 2 * side, line_height(12), nfc(t("Lĩnh vực: {f}", f=r.field)), align="C"
        )
    pdf.set_xy(x0, max(head_bottom, pdf.get_y()) + 3)
    for s in r.sections:
        if len(r.sections) > 1:
            w.font("B", 12)
            pdf.cell(0, line_height(12), nfc(s.title), new_x="LMARGIN", new_y="NEXT")
        _pdf_table(pdf, s, FAMILY)
        if not s.rows:
            w.para(t("(không có số liệu)"), style="I", size=10.5, align="C")
        pdf.ln(3)
    if r.notes:
        w.font("B", 10)
        pdf.cell(0, line_height(10), nfc(t("Ghi chú:")), new_x="LMARGIN", new_y="NEXT")
        for i, note in enumerate(r.notes, start=1):
            w.para(f"{i}. {note}", style="I", size=9.5, align="J")
    w.gap(2)
    place = identity.commune_name if identity is not None else ""
    for prefix in ("Xã ", "Phường ", "Đặc khu ", "Thị trấn "):  # "Mường Lát, ngày …" as on slips
        if place.casefold().startswith(prefix.casefold()):
            place = place[len(prefix) :]
    w.font("I", 12)
    pdf.set_x(x0 + width / 2)
    pdf.multi_cell(width / 2, line_height(12), nfc(f"{place}, {date_vi(now.date())}"), align="C")
    w.signatures(Signer(t("NGƯỜI LẬP BIỂU")), Signer(t("THỦ TRƯỞNG ĐƠN VỊ"), t("(Ký, đóng dấu)")))
    return pdf.to_bytes()


def _pdf_table(pdf: Any, s: Section, family: str) -> None:
    from fpdf.fonts import FontFace

    from onestop.forms.page import nfc
    from onestop.forms.pdf import line_height

    size = 9.5 if len(s.columns) > 8 else 10.5
    pdf.set_font(family, "", size)
    weights = []
    for c in s.columns:
        if c.key == "stt":
            weights.append(5.0)
        elif c.key in ("formula", "note", "procedure_name"):
            weights.append(26.0)
        elif c.kind in ("text", "datetime"):
            weights.append(16.0 if c.key not in ("field", "label") else 22.0)
        elif c.kind == "money":
            weights.append(13.0)
        else:
            weights.append(8.0)
    heading = FontFace(emphasis="BOLD", fill_color=(235, 235, 235))
    header = _header_rows(s)
    align = tuple("LEFT" if c.kind in ("text", "datetime") else "RIGHT" for c in s.columns)
    with pdf.table(
        col_widths=tuple(weights),
        width=pdf.text_width,
        line_height=line_height(size, 1.2),
        text_align=align,
        headings_style=heading,
        num_heading_rows=len(header),
        repeat_headings=1,
        padding=(0.8, 1.0),
        v_align="MIDDLE",
    ) as table:
        for runs in header:
            row = table.row()
            for label, span, down in runs:
                row.cell(nfc(label), align="C", colspan=span, rowspan=down)
        for data in [*s.rows, *([s.total] if s.total is not None else [])]:
            row = table.row()
            for c in s.columns:
                style = FontFace(emphasis="BOLD") if data is s.total else None
                row.cell(nfc(cell_text(c, data.get(c.key))), style=style)


def dumps(r: Report) -> str:
    return json.dumps(to_json(r), ensure_ascii=False, indent=2, default=str)
