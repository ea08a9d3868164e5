"""``onestop receive --from-csv FILE`` / ``--from-jsonl FILE|-``: many intakes, one login.

A script calling ``onestop receive`` once per dossier pays the program's start and the login
(scrypt) every time (~0.8 s each; 100 dossiers ~84 s, of which ~0.3 s is intake work). Here the
desk opens once and every row goes through the very path of a single receive (``_form`` and
``Desk.receive``: the same checks, one transaction per dossier), so a refused row changes nothing
and the rows after it are still received.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from onestop.cli._common import MONEY, Refused, emit, fmt_due, open_desk
from onestop.domain.cccd import CccdError
from onestop.i18n import t
from onestop.services.base import DeskError, IntakeError

if TYPE_CHECKING:
    from onestop.services.desk import IntakeForm

# The columns, as the single receive's options (``onestop receive --help`` lists them).
REQUIRED = ("procedure", "name", "id")
COLUMNS = (*REQUIRED, "phone", "address", "email", "channel", "received", "note", "fee", "paid")
MAX_ROWS = 100_000  # one file; a bigger load is split (each row is its own transaction anyway)
_YES = {"1", "x", "có", "co", "yes", "true", "đã thu", "da thu"}
_NO = {"", "0", "không", "khong", "no", "false"}


Row = dict[str, str]
FormMaker = Callable[..., "IntakeForm"]


def read_rows(source: IO[str], kind: str) -> list[tuple[int, Row]]:
    """(line number, row) for every data row; a file that cannot be read as a whole (unknown or
    missing columns, not CSV / JSON lines) is refused before any dossier is received."""
    rows: list[tuple[int, Row]] = []
    if kind == "csv":
        reader = csv.DictReader(source)
        header = [h.strip() for h in reader.fieldnames or []]
        _check_columns(header)
        reader.fieldnames = header
        for raw in reader:
            extra = raw.pop(None, None)  # type: ignore[call-overload,unused-ignore]
            row = {k: (v or "").strip() for k, v in raw.items()}
            if extra:
                row["_extra"] = "1"
            rows.append((reader.line_num, row))
            if len(rows) > MAX_ROWS:
                raise Refused(t("Tệp có quá {n} dòng; hãy chia thành nhiều tệp.", n=MAX_ROWS))
        return rows
    for n, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            rows.append((n, {"_bad": "1"}))
            continue
        _check_columns(list(value), jsonl=True)
        rows.append((n, {str(k): "" if v is None else str(v).strip() for k, v in value.items()}))
        if len(rows) > MAX_ROWS:
            raise Refused(t("Tệp có quá {n} dòng; hãy chia thành nhiều tệp.", n=MAX_ROWS))
    return rows


def _check_columns(names: list[str], *, jsonl: bool = False) -> None:
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise Refused(
            t(
                "Cột không có trong mẫu: {cols}. Các cột dùng được: {known}.",
                cols=", ".join(unknown),
                known=", ".join(COLUMNS),
            )
        )
    missing = [n for n in REQUIRED if n not in names]
    if missing and not jsonl:
        raise Refused(t("Tệp thiếu cột bắt buộc: {cols}.", cols=", ".join(missing)))


def _row_form(row: Row, make_form: FormMaker) -> IntakeForm:
    """The single receive's form from one row; ``click.BadParameter``/``Refused`` if unusable."""
    if row.get("_bad"):
        raise Refused(t("Dòng không phải một đối tượng JSON."))
    if row.get("_extra"):
        raise Refused(t("Dòng có nhiều ô hơn tiêu đề (thiếu dấu ngoặc kép quanh dấu phẩy?)."))
    missing = [c for c in REQUIRED if not row.get(c)]
    if missing:
        raise Refused(t("Thiếu: {cols}.", cols=", ".join(missing)))
    channel = row.get("channel") or "in_person"
    if channel not in ("in_person", "online", "post"):
        raise Refused(
            t("Kênh nộp «{v}» không hợp lệ; dùng in_person, online hoặc post.", v=channel[:40])
        )
    form = make_form(
        row["procedure"],
        row["name"],
        row["id"],
        row.get("phone", ""),
        row.get("address", ""),
        row.get("email", ""),
        channel,
        row.get("received") or None,
        row.get("note", ""),
    )
    fee = row.get("fee", "")
    form.fee_vnd = MONEY.convert(fee, None, None) if fee else None
    paid = row.get("paid", "").casefold()
    if paid not in _YES and paid not in _NO:
        raise Refused(t("Cột paid chỉ nhận 1/0 (hoặc có/không); nhận được «{v}».", v=paid[:40]))
    form.fee_paid_now = paid in _YES
    return form


def _reason(e: Exception) -> str:
    if isinstance(e, IntakeError):
        return str(e).replace("\n", "; ")
    if isinstance(e, click.ClickException):
        return e.format_message()
    return str(e)


def receive_batch(
    db: Path | None,
    source: IO[str],
    kind: str,
    rejects: Path | None,
    as_json: bool,
    make_form: FormMaker,
) -> None:
    rows = read_rows(source, kind)
    received: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    refused_rows: list[Row] = []
    show_bar = sys.stderr.isatty() and len(rows) > 1
    with open_desk(db) as desk:
        bar = click.progressbar(
            rows, label=t("Tiếp nhận"), file=sys.stderr if show_bar else io.StringIO()
        )
        with bar as items:
            for line, row in items:
                try:
                    state = desk.receive(_row_form(row, make_form))
                except (IntakeError, DeskError, CccdError, click.ClickException) as e:
                    refused.append({"row": line, "reason": _reason(e)})
                    refused_rows.append(row)
                    continue
                received.append(
                    {
                        "row": line,
                        "code": state.code,
                        "due": state.due_at.isoformat(sep=" ", timespec="minutes")
                        if state.due_at
                        else None,
                    }
                )
                if not as_json:
                    click.echo(
                        t(
                            "Dòng {n}: {code}, hẹn trả {due}",
                            n=line,
                            code=state.code,
                            due=fmt_due(state.due_at),
                        )
                    )
        clock_warning = desk.clock_warning()
    if clock_warning:
        click.echo(clock_warning, err=True)
    if rejects is not None and refused:
        _write_rejects(rejects, refused, refused_rows)
    if as_json:
        emit(
            {
                "received": received,
                "refused": refused,
                "count": {"received": len(received), "refused": len(refused)},
            }
        )
    else:
        for r in refused:
            click.echo(t("Dòng {n} bị từ chối: {reason}", n=r["row"], reason=r["reason"]), err=True)
        click.echo(
            t("Đã tiếp nhận {ok} hồ sơ; {bad} dòng bị từ chối.", ok=len(received), bad=len(refused))
        )
    if refused:
        sys.exit(1)


def _write_rejects(path: Path, refused: list[dict[str, Any]], rows: list[Row]) -> None:
    """The refused rows, as CSV with the reason, to fix and load again. Personal data: 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with open(fd, "w", newline="", encoding="utf-8") as f:
        out = csv.DictWriter(f, fieldnames=["row", *COLUMNS, "reason"], extrasaction="ignore")
        out.writeheader()
        for r, row in zip(refused, rows, strict=True):
            out.writerow({**row, "row": r["row"], "reason": r["reason"]})


@contextmanager
def open_source(value: str) -> Iterator[IO[str]]:
    """Yields the text of ``value`` («-» is stdin); a file that cannot be read is refused."""
    if value == "-":
        yield io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
        return
    try:
        f = open(value, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed below
    except OSError as e:
        raise Refused(
            t("Không đọc được tệp «{path}»: {err}", path=value, err=e.strerror or e)
        ) from e
    try:
        yield f
    except UnicodeDecodeError as e:
        raise Refused(t("Tệp «{path}» không phải văn bản UTF-8.", path=value)) from e
    finally:
        f.close()
