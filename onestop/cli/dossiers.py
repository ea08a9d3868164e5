"""``onestop`` commands for the desk's own work: receive, refuse, dossier, act, due, rebuild.
``cli/main.py`` attaches them (loaded when one of them runs); ``check-id``, which opens no desk,
lives in ``cli/checks.py`` so it does not import this module's domain modules.

Exit codes: 0 done; 1 refused input (the message says why, nothing was changed);
2 usage or configuration error. Every command that prints data takes ``--json``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from onestop.cli._common import (
    CURSOR,
    MONEY,
    F,
    count,
    db_option,
    emit,
    fmt_due,
    guard,
    json_option,
    open_desk,
    parse_dt,
)
from onestop.domain.events import SYSTEM_KINDS, EventKind
from onestop.domain.fields import escape_display
from onestop.domain.lifecycle import Channel, Status, action_label, status_label
from onestop.domain.payments import PaymentMethod
from onestop.domain.roles import ACTION_ROLES, ROLE_LABELS, TWO_PERSON_ACTIONS, Role
from onestop.domain.text import datetime_text, format_vnd
from onestop.i18n import t
from onestop.store.queries import DossierFilter

if TYPE_CHECKING:
    from onestop.domain.events import Event
    from onestop.domain.lifecycle import DossierState
    from onestop.services.desk import IntakeForm

# ``onestop.services.desk`` (and with it SQLAlchemy, ~0.4 s) is imported inside the commands
# that open a desk: ``--help`` of these commands touches no database and must not pay for it
# (tests/cli/test_short_help.py).


def state_json(state: DossierState) -> dict[str, Any]:
    from onestop.services.desk import state_json as as_json

    return as_json(state)


def event_json(event: Event) -> dict[str, Any]:
    from onestop.services.desk import event_json as as_json

    return as_json(event)


@click.command()
@db_option
@click.option("--procedure", required=True, help="Mã thủ tục, ví dụ 2.001035.")
@click.option("--received", required=True, help="Thời điểm tiếp nhận «YYYY-MM-DD HH:MM».")
@json_option
@guard
def due(db: Path | None, procedure: str, received: str, as_json: bool) -> None:
    """Tính thời điểm hẹn trả kết quả theo quy định."""
    at = parse_dt(received, t("Thời điểm tiếp nhận"))
    with open_desk(db) as desk:
        proc, due_at = desk.due_for(procedure, at)
    if as_json:
        emit(
            {
                "procedure": proc.code,
                "version": proc.version,
                "name": proc.name,
                "time_limit": proc.time_text(),
                "received": at.isoformat(sep=" ", timespec="minutes"),
                "due": due_at.isoformat(sep=" ", timespec="minutes") if due_at else None,
            }
        )
    else:
        click.echo(f"{proc.code} {proc.name} — {proc.time_text()}")
        click.echo(t("Hẹn trả: {due}", due=fmt_due(due_at)))


def _intake_options(f: F, *, required: bool = True) -> F:
    opts = [
        click.option("--procedure", required=required, help="Mã thủ tục, ví dụ 2.001035."),
        click.option("--name", required=required, help="Họ tên người nộp hồ sơ."),
        click.option("--phone", default="", help="Số điện thoại."),
        click.option("--address", default="", help="Địa chỉ."),
        click.option("--email", default="", help="Email."),
        click.option(
            "--channel",
            type=click.Choice([c.value for c in Channel]),
            default=Channel.IN_PERSON.value,
            show_default=True,
            help="Kênh nộp: in_person (trực tiếp), online (trực tuyến), post (bưu chính công ích).",
        ),
        click.option(
            "--received",
            default=None,
            help="Thời điểm tiếp nhận «YYYY-MM-DD HH:MM» (mặc định: bây giờ).",
        ),
        click.option("--note", default="", help="Ghi chú."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _form(
    procedure: str,
    name: str,
    id_number: str,
    phone: str,
    address: str,
    email: str,
    channel: str,
    received: str | None,
    note: str,
) -> IntakeForm:
    from onestop.services.desk import Applicant, IntakeForm

    return IntakeForm(
        procedure_code=procedure,
        applicant=Applicant(
            name=name, id_number=id_number, phone=phone, address=address, email=email
        ),
        channel=Channel(channel),
        received_at=parse_dt(received, t("Thời điểm tiếp nhận")) if received is not None else None,
        note=note,
    )


@click.command()
@db_option
@lambda f: _intake_options(f, required=False)
@click.option("--id", "id_number", default=None, help="Số định danh cá nhân (CCCD 12 số).")
@click.option(
    "--fee",
    type=MONEY,
    default=None,
    help="Phí, lệ phí (đồng); mặc định theo danh mục. Bắt buộc khi danh mục không có mức "
    "thu cố định (HĐND tỉnh quy định, thu theo số bản/trang, chưa có mức thu); 0 nếu được miễn.",
)
@click.option("--paid", is_flag=True, help="Đã thu phí, lệ phí khi tiếp nhận.")
@click.option(
    "--due",
    "due_override",
    default=None,
    help="Ngày hẹn trả «YYYY-MM-DD HH:MM», chỉ cho thủ tục không có thời hạn cụ thể.",
)
@click.option(
    "--from-csv",
    "from_csv",
    default=None,
    metavar="FILE",
    help="Tiếp nhận hàng loạt từ tệp CSV (UTF-8, dòng đầu là tên cột; «-»: đầu vào chuẩn).",
)
@click.option(
    "--from-jsonl",
    "from_jsonl",
    default=None,
    metavar="FILE",
    help="Tiếp nhận hàng loạt từ tệp JSON lines, mỗi dòng một hồ sơ («-»: đầu vào chuẩn).",
)
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Hàng loạt: ghi các dòng bị từ chối (kèm lý do) vào tệp CSV này để sửa rồi nạp lại.",
)
@json_option
@guard
def receive(
    db: Path | None,
    procedure: str | None,
    name: str | None,
    id_number: str | None,
    phone: str,
    address: str,
    email: str,
    channel: str,
    received: str | None,
    note: str,
    fee: int | None,
    paid: bool,
    due_override: str | None,
    from_csv: str | None,
    from_jsonl: str | None,
    rejects: Path | None,
    as_json: bool,
) -> None:
    """Tiếp nhận một hồ sơ; in mã hồ sơ và thời điểm hẹn trả.

    \b
    Ví dụ: onestop receive --procedure 2.000884 --name "Nguyễn Văn An" --id 001203004567
           --phone 0912345678 --paid

    Hàng loạt (đăng nhập một lần, mỗi dòng kiểm tra như một lần tiếp nhận; dòng bị từ chối
    được báo số dòng và lý do, các dòng khác vẫn được tiếp nhận; mã thoát 1 nếu có dòng bị từ
    chối): --from-csv FILE hoặc --from-jsonl FILE. Cột (tên như các tùy chọn): procedure,
    name, id bắt buộc; phone, address, email, channel, received, note, fee, paid (1/0) tùy ý.

    \b
    Ví dụ tệp CSV:
      procedure,name,id,phone,paid
      2.000884,Nguyễn Văn An,001203004567,0912345678,1
      2.001035,"Lò Thị Mai, bản Na",038199012345,,0
    Ví dụ: onestop receive --from-csv hoso.csv --rejects loi.csv
    """
    if from_csv is not None or from_jsonl is not None:
        from onestop.cli.receive_batch import open_source, receive_batch

        if from_csv is not None and from_jsonl is not None:
            raise click.UsageError(t("Chỉ dùng một trong --from-csv và --from-jsonl."))
        with open_source(from_csv or from_jsonl or "-") as source:
            receive_batch(
                db, source, "csv" if from_csv else "jsonl", rejects, as_json, make_form=_form
            )
        return
    # Required unless --from-csv/--from-jsonl: click's own message for the first one missing.
    given = {"procedure": procedure, "name": name, "id_number": id_number}
    missing = next((k for k, v in given.items() if v is None), None)
    if missing is not None:
        ctx = click.get_current_context()
        raise click.MissingParameter(
            ctx=ctx, param=next(p for p in ctx.command.params if p.name == missing)
        )
    assert procedure is not None and name is not None and id_number is not None
    form = _form(procedure, name, id_number, phone, address, email, channel, received, note)
    form.fee_vnd = fee
    form.fee_paid_now = paid
    form.due_override = (
        parse_dt(due_override, t("Ngày hẹn trả")) if due_override is not None else None
    )
    with open_desk(db) as desk:
        state = desk.receive(form)
        clock_warning = desk.clock_warning()
    if clock_warning:
        click.echo(clock_warning, err=True)
    if as_json:
        emit(state_json(state))
    else:
        click.echo(t("Mã hồ sơ: {code}", code=state.code))
        click.echo(t("Hẹn trả: {due}", due=fmt_due(state.due_at)))


@click.command()
@db_option
@_intake_options
@click.option("--id", "id_number", default="", help="Số định danh cá nhân (nếu có).")
@click.option("--reason", required=True, help="Lý do từ chối tiếp nhận (bắt buộc).")
@json_option
@guard
def refuse(
    db: Path | None,
    procedure: str,
    name: str,
    id_number: str,
    phone: str,
    address: str,
    email: str,
    channel: str,
    received: str | None,
    note: str,
    reason: str,
    as_json: bool,
) -> None:
    """Từ chối tiếp nhận hồ sơ (Phiếu từ chối), ghi rõ lý do."""
    form = _form(procedure, name, id_number, phone, address, email, channel, received, note)
    with open_desk(db) as desk:
        state = desk.refuse_intake(form, reason)
    if as_json:
        emit(state_json(state))
    else:
        click.echo(t("Đã từ chối tiếp nhận. Số phiếu theo mã: {code}", code=state.code))


@click.group()
def dossier() -> None:
    """Xem hồ sơ."""


@dossier.command("show")
@db_option
@click.argument("code")
@json_option
@guard
def dossier_show(db: Path | None, code: str, as_json: bool) -> None:
    """Trạng thái và toàn bộ lịch sử của một hồ sơ."""
    with open_desk(db) as desk:
        state = desk.get(code)
        events = desk.history(code)
        now = desk.clock()
    if as_json:
        emit(
            {
                "dossier": state_json(state),
                "events": [event_json(e) for e in events],
                "allowed_actions": [a.value for a in state.allowed_actions()],
            }
        )
        return
    # Everything below may come from another desk's events, or a forged one: printed through
    # escape_display, so a stored ESC or bidi override cannot drive the clerk's terminal.
    esc = escape_display
    click.echo(f"{esc(state.code)} — {status_label(state.status)}")
    click.echo(
        f"  {t('Thủ tục')}: {esc(state.procedure_code)} {esc(state.procedure_name)}"
        f" (v{state.procedure_version})"
    )
    click.echo(
        f"  {t('Người nộp')}: {esc(state.applicant_name)} · {esc(state.applicant_id)}"
        f" · {esc(state.applicant_phone)}"
    )
    click.echo(f"  {t('Tiếp nhận')}: {datetime_text(state.received_at)}")
    click.echo(f"  {t('Hẹn trả')}: {fmt_due(state.due_at)}")
    if state.due_at and state.clock_running and state.due_at < now:
        click.echo(f"  {t('QUÁ HẠN')}")
    click.echo(
        f"  {t('Phí, lệ phí')}: {format_vnd(state.fee_vnd)} ({t('đã nộp')} {format_vnd(state.fee_paid)})"
    )
    click.echo(t("Lịch sử:"))
    for e in events:
        extra = "; ".join(
            f"{k}={esc(v)}"
            for k, v in e.data.items()
            if k in ("to", "reason", "decision", "channel", "amount")
        )
        click.echo(
            f"  {e.at:%d/%m/%Y %H:%M}  {action_label(e.kind):<40} {esc(e.actor)} ({esc(e.role)})"
            f" {extra} {esc(e.note)}".rstrip()
        )
    allowed = ", ".join(a.value for a in state.allowed_actions()) or "—"
    click.echo(t("Thao tác được phép: {a}", a=allowed))


@dossier.command("list")
@db_option
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([s.value for s in Status]),
    help="Lọc theo trạng thái (lặp lại được).",
)
@click.option(
    "--search",
    default=None,
    help="Tìm theo mã, tên, CCCD, điện thoại, thủ tục (không dấu cũng được).",
)
@click.option("--field", default=None, help="Lọc theo lĩnh vực, ví dụ «Chứng thực».")
@click.option(
    "--due",
    type=click.Choice(["overdue", "today", "soon", "none"]),
    default=None,
    help="Lọc theo hạn: quá hạn, đến hạn hôm nay, sắp đến hạn, không có hạn.",
)
@click.option("--limit", type=count(1, 200), default=50, show_default=True)
@click.option(
    "--after", type=CURSOR, default=None, help="Trang tiếp theo: con trỏ in ở cuối trang trước."
)
@json_option
@guard
def dossier_list(
    db: Path | None,
    statuses: tuple[str, ...],
    search: str | None,
    field: str | None,
    due: str | None,
    limit: int,
    after: int | None,
    as_json: bool,
) -> None:
    """Danh sách hồ sơ, mới nhất trước, phân trang."""
    flt = DossierFilter(
        statuses=tuple(Status(s) for s in statuses), field=field, search=search, due=due
    )
    with open_desk(db) as desk:
        page = desk.page(flt, after_id=after, limit=limit)
    if as_json:
        emit({"dossiers": [state_json(s) for s in page.rows], "next_cursor": page.next_cursor})
        return
    if not page.rows:
        click.echo(t("Không có hồ sơ nào khớp."))
        return
    for s in page.rows:
        due_s = f"{s.due_at:%d/%m %H:%M}" if s.due_at else "—"
        click.echo(
            f"{escape_display(s.code):<30} {status_label(s.status):<24} {due_s:<12}"
            f" {escape_display(s.applicant_name)}"
        )
    if page.next_cursor:
        click.echo(t("Còn nữa: thêm --after {c}", c=page.next_cursor))


ACT_ACTIONS = tuple(k for k in EventKind if k != EventKind.RECEIVE and k not in SYSTEM_KINDS)


def act_help() -> str:
    """``act --help``: the actions and who may take each, written from ``domain/roles`` so the
    help can never promise an action the desk then refuses for the person's role."""
    width = max(len(k.value) for k in ACT_ACTIONS) + 2
    lines = [
        "Thực hiện một bước xử lý hồ sơ.",
        "",
        "\b",
        "ACTION — vai trò được thực hiện:",
    ]
    for kind in ACT_ACTIONS:
        roles = sorted(ACTION_ROLES.get(kind, frozenset()), key=list(Role).index)
        who = ", ".join(ROLE_LABELS[r] for r in roles) or "không ai (việc của hệ thống)"
        if kind in TWO_PERSON_ACTIONS:
            who += " (không phải người đã tiếp nhận hồ sơ)"
        lines.append(f"  {kind.value:<{width}}{who}")
    lines += [
        "",
        "\b",
        'Ví dụ: onestop act 000.00.14.H56-260205-010001 forward --to "Công chức Tư pháp - Hộ tịch"',
    ]
    return "\n".join(lines)


@click.command(help=act_help())
@db_option
@click.argument("code")
@click.argument(
    "action",
    type=click.Choice([k.value for k in ACT_ACTIONS]),
    metavar="ACTION",
)
@click.option("--note", default="", help="Ghi chú.")
@click.option("--to", "to", default=None, help="forward/start: đơn vị hoặc cán bộ nhận hồ sơ.")
@click.option(
    "--reason", default=None, help="Lý do (bổ sung, từ chối, dừng, gia hạn, không phê duyệt)."
)
@click.option(
    "--decision",
    type=click.Choice(["approved", "denied"]),
    default=None,
    help="resolve: phê duyệt hay từ chối.",
)
@click.option(
    "--amount",
    type=MONEY,
    default=None,
    help="Số tiền (đồng) cho request_payment/record_payment; record_payment không được vượt "
    "số còn phải nộp (mặc định: đúng số còn phải nộp).",
)
@click.option(
    "--method",
    type=click.Choice([m.value for m in PaymentMethod]),
    default=None,
    help="record_payment: cash (tiền mặt), transfer (chuyển khoản), online (trực tuyến).",
)
@click.option(
    "--channel",
    type=click.Choice(["desk", "post", "electronic"]),
    default=None,
    help="return_result: hình thức trả.",
)
@click.option("--new-due", default=None, help="extend: ngày giờ hẹn trả mới «YYYY-MM-DD HH:MM».")
@click.option("--scores", default=None, help="evaluate: 9 điểm 0–2, cách nhau bằng dấu phẩy.")
@click.option("--satisfaction", type=count(1, 5), default=None, help="evaluate: mức hài lòng 1–5.")
@json_option
@guard
def act(
    db: Path | None,
    code: str,
    action: str,
    note: str,
    to: str | None,
    reason: str | None,
    decision: str | None,
    amount: int | None,
    method: str | None,
    channel: str | None,
    new_due: str | None,
    scores: str | None,
    satisfaction: int | None,
    as_json: bool,
) -> None:
    # The help text is act_help(): generated from the role table.
    params: dict[str, Any] = {}
    for key, value in (
        ("to", to),
        ("reason", reason),
        ("decision", decision),
        ("amount", amount),
        ("method", method),
        ("channel", channel),
        ("satisfaction", satisfaction),
    ):
        if value is not None:
            params[key] = value
    if new_due is not None:
        params["new_due"] = parse_dt(new_due, t("Ngày hẹn trả mới"))
    if scores:
        try:
            params["scores"] = [int(x) for x in scores.split(",")]
        except ValueError:
            raise click.BadParameter(
                t("--scores phải là 9 số 0–2, cách nhau bằng dấu phẩy."), param_hint="--scores"
            ) from None
    with open_desk(db) as desk:
        state = desk.act(code, action, params, note=note)
    if as_json:
        emit(state_json(state))
    else:
        click.echo(
            t(
                "{label}: xong. Trạng thái: {status}.",
                label=action_label(action),
                status=status_label(state.status),
            )
        )
        if state.due_at and action in ("record_supplement", "extend"):
            click.echo(t("Hẹn trả mới: {due}", due=fmt_due(state.due_at)))


@click.command()
@db_option
@click.option("--check-only", is_flag=True, help="Chỉ kiểm tra, không sửa.")
@json_option
@guard
def rebuild(db: Path | None, check_only: bool, as_json: bool) -> None:
    """Dựng lại toàn bộ hồ sơ từ nhật ký sự kiện và kiểm tra chuỗi băm."""
    with open_desk(db) as desk:
        report = desk.rebuild(fix=not check_only)
        integrity = desk.integrity_check()
    out = {
        "dossiers": report.dossiers,
        "events": report.events,
        "mismatched": report.fixed,
        "fixed": not check_only,
        "chain_errors": report.chain_errors,
        "integrity": integrity,
    }
    if as_json:
        emit(out)
    else:
        click.echo(
            t(
                "Đã kiểm tra {d} hồ sơ, {e} sự kiện. Toàn vẹn CSDL: {i}.",
                d=report.dossiers,
                e=report.events,
                i=integrity,
            )
        )
        if report.fixed:
            verb = t("cần dựng lại") if check_only else t("đã dựng lại")
            click.echo(
                t(
                    "{n} hồ sơ {verb}: {codes}",
                    n=len(report.fixed),
                    verb=verb,
                    codes=", ".join(report.fixed[:20]),
                )
            )
        for err in report.chain_errors:
            click.echo(f"  ! {err}")
    if report.chain_errors or integrity != "ok" or (check_only and report.fixed):
        sys.exit(1)
