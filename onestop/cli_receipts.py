"""Commands for signed receipts: ``keys``, ``receipt``, ``verify``, ``slip``.

Same conventions as ``onestop.cli``: exit 0 done, 1 refused input (message on stderr, nothing
changed), 2 usage; ``verify`` exits with the verdict's code (0 valid, 3 bad signature, 4
unknown key, 5 revoked key, 6 malformed; ``onestop.crypto.verify.EXIT_CODES``).

Passphrases never come from a command-line argument (it would stay in the shell history and
in ``ps``): ``--passphrase-file FILE`` (first line), else ``ONESTOP_PASSPHRASE``, else a hidden
prompt on the terminal.

``onestop.cli`` attaches the commands to the main group with ``register(main)``.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from onestop.cli_common import (
    F,
    Refused,
    db_option,
    desk_now,
    emit,
    fmt_due,
    guard,
    json_option,
    open_desk,
    parse_dt,
    read_passphrase,
    settings_or_exit,
)
from onestop.crypto.keys import KeyFileError, load_key_file
from onestop.crypto.trust import (
    RootKey,
    TrustBundle,
    TrustError,
    export_trust_file,
    read_trust_bundle,
)
from onestop.crypto.verify import Verdict, VerifyResult, verify_receipt
from onestop.domain.receipt import VN_TZ, RawClaims
from onestop.domain.text import datetime_vi, format_vnd
from onestop.i18n import set_language, t
from onestop.services import receipts as rc
from onestop.services.qr import QrDecodeError, decode_image, qr_png, qr_terminal
from onestop.services.slips import SlipKind

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_MAX_QR_TEXT = 8192


# ------------------------------------------------------------------------------ helpers


def passphrase_option(f: F) -> F:
    return click.option(
        "--passphrase-file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Tệp chứa mật khẩu khóa (dòng đầu). Không có: biến ONESTOP_PASSPHRASE, "
        "rồi hỏi trên màn hình (không hiện chữ).",
    )(f)


def _epoch_local(epoch: int) -> str:
    return datetime_vi(datetime.fromtimestamp(epoch, VN_TZ).replace(tzinfo=None))


# ---------------------------------------------------------------------------------- keys


@click.group("keys")
def keys() -> None:
    """Khóa ký của quầy và danh sách tin cậy của tỉnh.

    \b
    Tại quầy:   keys create-desk → keys export-public → (tỉnh cấp) → keys import-trust
    Tại tỉnh:   keys create-root (một lần) → keys issue-trust
    """


@keys.command("create-root")
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Tệp khóa gốc."
)
@click.option("--label", default="", help="Nhãn khóa, ví dụ «Khóa gốc tỉnh Thanh Hóa».")
@passphrase_option
@json_option
@guard
def keys_create_root(out: Path, label: str, passphrase_file: Path | None, as_json: bool) -> None:
    """(Tỉnh) Tạo khóa gốc của tỉnh, dùng để ký danh sách tin cậy."""
    secret = read_passphrase(passphrase_file, what=t("khóa gốc"), confirm=True)
    signer = rc.create_root_key(out, secret, label=label or t("Khóa gốc của tỉnh"))
    root = RootKey.of(signer)
    if as_json:
        emit({"path": str(out), "kid": root.kid.hex(), "fingerprint": root.fingerprint()})
        return
    click.echo(t("Đã tạo khóa gốc {path}.", path=out))
    click.echo(
        t(
            "Dấu vân tay: {fp} — công bố cho các xã (công văn, điện thoại) để đối chiếu khi nhập.",
            fp=root.fingerprint(),
        )
    )


@keys.command("create-desk")
@db_option
@passphrase_option
@json_option
@guard
def keys_create_desk(db: Path | None, passphrase_file: Path | None, as_json: bool) -> None:
    """Tạo khóa ký của quầy (mã hóa bằng mật khẩu của cán bộ)."""
    with open_desk(db) as desk:
        secret = read_passphrase(passphrase_file, what=t("khóa quầy"), confirm=True)
        kid = rc.create_desk_key(desk, secret)
        path = rc.desk_key_path(desk)
    if as_json:
        emit({"kid": kid.hex(), "path": str(path)})
        return
    click.echo(t("Đã tạo khóa quầy {kid} tại {path}.", kid=kid.hex(), path=path))
    click.echo(
        t(
            "Bước tiếp: «onestop keys export-public --out yeucau.json», gửi tệp cho tỉnh. "
            "Quên mật khẩu thì không mở lại được khóa: phải tạo khóa mới và xin tỉnh cấp lại."
        )
    )


@keys.command("export-public")
@db_option
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Tệp yêu cầu cấp khóa (JSON) để gửi tỉnh.",
)
@json_option
@guard
def keys_export_public(db: Path | None, out: Path, as_json: bool) -> None:
    """Xuất khóa công khai của quầy (tệp yêu cầu cấp khóa gửi tỉnh)."""
    with open_desk(db) as desk:
        data = rc.desk_public_export(desk)
    req = rc.parse_key_request(data)
    try:
        out.write_bytes(data)
    except OSError as e:
        raise Refused(t("Không ghi được {path}: {e}", path=out, e=e)) from e
    if as_json:
        emit({"path": str(out), "kid": req.kid.hex()})
        return
    click.echo(t("Đã ghi {path}.", path=out))
    click.echo(
        t(
            "Mã khóa {kid}: đọc mã này cho tỉnh qua điện thoại để tỉnh đối chiếu.",
            kid=req.kid.hex(),
        )
    )


@keys.command("issue-trust")
@click.option(
    "--root",
    "root_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Tệp khóa gốc của tỉnh.",
)
@click.option(
    "--add",
    "add",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Tệp yêu cầu cấp khóa của một quầy (lặp lại được).",
)
@click.option(
    "--revoke", multiple=True, help="Mã khóa (16 chữ số hệ 16) cần thu hồi (lặp lại được)."
)
@click.option(
    "--revoked-at",
    default=None,
    help="Thời điểm thu hồi «YYYY-MM-DD HH:MM»: lần cuối khóa còn đáng tin (mặc định: bây giờ). "
    "Biên nhận ký trước thời điểm này vẫn hợp lệ.",
)
@click.option("--province", required=True, help="Mã tỉnh 2 chữ số, ví dụ 38.")
@click.option(
    "--version",
    "version",
    type=click.IntRange(1),
    default=None,
    help="Phiên bản danh sách (mặc định: phiên bản hiện có + 1).",
)
@click.option("--host", default=None, help="Tên máy chủ tra cứu in trong mã QR biên nhận.")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Tệp danh sách tin cậy; nếu đã có thì được mở rộng (phải do cùng khóa gốc ký).",
)
@passphrase_option
@json_option
@guard
def keys_issue_trust(
    root_path: Path,
    add: tuple[Path, ...],
    revoke: tuple[str, ...],
    revoked_at: str | None,
    province: str,
    version: int | None,
    host: str | None,
    out: Path,
    passphrase_file: Path | None,
    as_json: bool,
) -> None:
    """(Tỉnh) Lập hoặc mở rộng danh sách tin cậy từ các tệp yêu cầu của quầy."""
    requests = []
    for path in add:
        try:
            requests.append(rc.parse_key_request(path.read_bytes()))
        except OSError as e:
            raise Refused(t("Không đọc được {path}: {e}", path=path, e=e)) from e
    kids = [bytes.fromhex(rc.normalise_fingerprint(k)) for k in revoke]
    when = parse_dt(revoked_at, t("Thời điểm thu hồi")) if revoked_at else None
    secret = read_passphrase(passphrase_file, what=t("khóa gốc"))
    try:
        root = load_key_file(root_path, secret)
    except KeyFileError as e:
        raise Refused(str(e)) from e
    base = None
    if out.exists():
        try:
            base = read_trust_bundle(out.read_bytes(), RootKey.of(root)).trust_list
        except (OSError, TrustError) as e:
            raise Refused(
                t("Tệp {path} có sẵn nhưng không mở rộng được: {e}", path=out, e=e)
            ) from e
    now = desk_now()
    tl = rc.issue_trust_list(
        province=province.strip(),
        issued_at=int(now.replace(tzinfo=VN_TZ).timestamp()),
        requests=requests,
        revoke=kids,
        revoked_at=None if when is None else int(when.replace(tzinfo=VN_TZ).timestamp()),
        version=version,
        host=host,
        base=base,
    )
    try:
        export_trust_file(out, root, tl)
    except TrustError as e:
        raise Refused(str(e)) from e
    fp = RootKey.of(root).fingerprint()
    if as_json:
        emit(
            {
                "path": str(out),
                "version": tl.version,
                "entries": [e.kid.hex() for e in tl.entries],
                "revoked": [e.kid.hex() for e in tl.entries if tl.revocation_time(e) is not None]
                + [r.kid.hex() for r in tl.revocations],
                "root_fingerprint": fp,
                "host": tl.host,
            }
        )
        return
    click.echo(
        t(
            "Đã ghi danh sách tin cậy phiên bản {v} ({n} khóa) vào {path}; khóa gốc {fp}.",
            v=tl.version,
            n=len(tl.entries),
            path=out,
            fp=fp,
        )
    )


@keys.command("import-trust")
@db_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--pin",
    default=None,
    help="Dấu vân tay khóa gốc do tỉnh công bố (16 chữ số hệ 16), bắt buộc ở lần nhập đầu "
    "nếu không xác nhận trên màn hình.",
)
@json_option
@guard
def keys_import_trust(db: Path | None, file: Path, pin: str | None, as_json: bool) -> None:
    """Nhập danh sách tin cậy do tỉnh cấp (ghim khóa gốc ở lần đầu)."""
    with open_desk(db) as desk:
        allow_first_use = False
        if pin is None and rc.trust_bundle(desk) is None:
            # First import without a pin: show the fingerprint and ask (never in scripts).
            try:
                preview = read_trust_bundle(file.read_bytes())
            except (OSError, TrustError) as e:
                raise Refused(str(e)) from e
            click.echo(
                t(
                    "Dấu vân tay khóa gốc trong tệp: {fp}. Chỉ đồng ý nếu trùng với dấu vân tay "
                    "tỉnh đã công bố.",
                    fp=preview.root.fingerprint(),
                ),
                err=True,
            )
            if not click.confirm(t("Ghim khóa gốc này?"), default=False, err=True):
                raise Refused(t("Chưa nhập: khóa gốc chưa được xác nhận."))
            allow_first_use = True
        result = rc.import_trust(desk, file, pin, allow_first_use=allow_first_use)
        has_key = rc.desk_key_info(desk) is not None
    tl = result.trust_list
    own = result.own_entry
    if as_json:
        emit(
            {
                "version": tl.version,
                "province": tl.province,
                "host": tl.host,
                "entries": len(tl.entries),
                "root_fingerprint": result.root_fingerprint,
                "first_use": result.first_use,
                "own_key_listed": own is not None,
                "own_key_revoked": own is not None and tl.revocation_time(own) is not None,
            }
        )
        return
    click.echo(
        t(
            "Đã nhập danh sách tin cậy phiên bản {v} của tỉnh {p} ({n} khóa); khóa gốc {fp}.",
            v=tl.version,
            p=tl.province,
            n=len(tl.entries),
            fp=result.root_fingerprint,
        )
    )
    if own is None and has_key:
        click.echo(t("Chú ý: khóa của quầy chưa có trong danh sách này."), err=True)
    elif own is not None and tl.revocation_time(own) is not None:
        click.echo(t("Chú ý: khóa của quầy đã bị thu hồi trong danh sách này."), err=True)


@keys.command("show")
@db_option
@json_option
@guard
def keys_show(db: Path | None, as_json: bool) -> None:
    """Mã khóa của quầy, danh sách tin cậy đang dùng và máy chủ tra cứu."""
    with open_desk(db) as desk:
        summary = rc.key_summary(desk)
    if as_json:
        emit(summary)
        return
    key = summary["desk_key"]
    if key is None:
        click.echo(t("Khóa quầy: chưa có (onestop keys create-desk)."))
    else:
        click.echo(t("Khóa quầy: {kid} ({alg}) — {label}", **key))
    trust = summary["trust"]
    if trust is None:
        click.echo(t("Danh sách tin cậy: chưa nhập (onestop keys import-trust)."))
    else:
        click.echo(
            t(
                "Danh sách tin cậy: phiên bản {version}, tỉnh {province}, lập {issued_at}, "
                "{entries} khóa ({active} còn hiệu lực); khóa gốc {root_fingerprint}.",
                **trust,
            )
        )
        for kid in trust["revoked"]:
            click.echo("  " + t("đã thu hồi: {kid}", kid=kid))
    own = summary["own_entry"]
    if key is not None and trust is not None:
        if own is None:
            click.echo(t("Khóa quầy chưa có trong danh sách tin cậy."))
        elif own["status"] != "active":
            click.echo(t("Khóa quầy đã bị thu hồi."))
    click.echo(t("Máy chủ tra cứu in trong mã QR: {host}", host=summary["receipt_host"]))


# ------------------------------------------------------------------------------- receipt


@click.command("receipt")
@db_option
@click.argument("code")
@click.option(
    "--pdf",
    "pdf_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Ghi Giấy tiếp nhận hồ sơ (PDF, hai liên) có mã QR đã ký.",
)
@click.option(
    "--png",
    "png_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Ghi riêng mã QR ra tệp PNG.",
)
@click.option("--qr-text", is_flag=True, help="Chỉ in nội dung mã QR (để chuyển cho lệnh khác).")
@passphrase_option
@json_option
@guard
def receipt(
    db: Path | None,
    code: str,
    pdf_path: Path | None,
    png_path: Path | None,
    qr_text: bool,
    passphrase_file: Path | None,
    as_json: bool,
) -> None:
    """Ký mã QR biên nhận của hồ sơ CODE; in ra màn hình, PNG hoặc PDF."""
    with open_desk(db) as desk:
        signer = rc.unlock_desk_key(desk, read_passphrase(passphrase_file, what=t("khóa quầy")))
        issued = rc.issue_receipt(desk, code, signer)
        pdf = rc.render_receipt_pdf(desk, issued) if pdf_path else None
    written: list[Path] = []
    try:
        if pdf_path is not None and pdf is not None:
            pdf_path.write_bytes(pdf)
            written.append(pdf_path)
        if png_path is not None:
            png_path.write_bytes(qr_png(issued.qr_text))
            written.append(png_path)
    except OSError as e:
        raise Refused(t("Không ghi được tệp: {e}", e=e)) from e
    if issued.qr_version > 11:
        click.echo(
            t(
                "Chú ý: mã QR phiên bản {v} (lớn hơn 11), khó đọc khi in 25 mm; "
                "nên dùng tên máy chủ tra cứu ngắn hơn.",
                v=issued.qr_version,
            ),
            err=True,
        )
    if as_json:
        emit(
            {
                "code": issued.code,
                "qr_text": issued.qr_text,
                "qr_version": issued.qr_version,
                "kid": issued.kid.hex(),
                "signed_at": issued.signature.signed_at.isoformat(timespec="seconds"),
                "files": [str(p) for p in written],
            }
        )
        return
    if qr_text:
        click.echo(issued.qr_text)
        for path in written:
            click.echo(t("Đã ghi {path}.", path=path), err=True)
        return
    if not written:
        for line in qr_terminal(issued.qr_text):
            click.echo(line)
        click.echo(issued.qr_text)
    for path in written:
        click.echo(t("Đã ghi {path}.", path=path))
    click.echo(
        t(
            "Biên nhận {code}: mã QR phiên bản {v}, ký bởi khóa {kid}.",
            code=issued.code,
            v=issued.qr_version,
            kid=issued.kid.hex(),
        )
    )


# --------------------------------------------------------------------------------- slip


@click.command("slip")
@db_option
@click.argument("code")
@click.argument("kind", type=click.Choice([k.value for k in SlipKind]), metavar="KIND")
@click.option(
    "--pdf",
    "pdf_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Tệp PDF cần ghi.",
)
@click.option("--unsigned", is_flag=True, help="In phiếu không ký số (khi quầy chưa có khóa ký).")
@passphrase_option
@guard
def slip(
    db: Path | None,
    code: str,
    kind: str,
    pdf_path: Path,
    unsigned: bool,
    passphrase_file: Path | None,
) -> None:
    """In một phiếu của hồ sơ CODE ra PDF, kèm thông tin ký số (mã khóa, thời điểm).

    \b
    KIND: receipt (giấy tiếp nhận, có mã QR), supplement (yêu cầu bổ sung),
    refusal (từ chối), apology (xin lỗi, gia hạn), stop (dừng giải quyết),
    control (phiếu kiểm soát).
    """
    with open_desk(db) as desk:
        signer = (
            None
            if unsigned
            else rc.unlock_desk_key(desk, read_passphrase(passphrase_file, what=t("khóa quầy")))
        )
        pdf = rc.render_signed_slip(desk, code, kind, signer)
    try:
        pdf_path.write_bytes(pdf)
    except OSError as e:
        raise Refused(t("Không ghi được {path}: {e}", path=pdf_path, e=e)) from e
    click.echo(t("Đã ghi {path}.", path=pdf_path))


# ------------------------------------------------------------------------------- verify


def _read_input(value: str) -> list[str]:
    """QR texts from INPUT: ``-`` (stdin), an image file, or the text itself."""
    if value == "-":
        return [sys.stdin.read(_MAX_QR_TEXT)]
    path = Path(value)
    looks_like_image = value.lower().endswith(_IMAGE_SUFFIXES)
    try:
        is_file = len(value) < 4096 and path.is_file()
    except (OSError, ValueError):
        is_file = False
    if is_file:
        try:
            return decode_image(path)
        except QrDecodeError as e:
            raise Refused(str(e)) from e
    if looks_like_image:
        raise Refused(t("Không tìm thấy tệp ảnh {path}.", path=value))
    return [value]


def _load_trust(
    db: Path | None, trust_file: Path | None, pin: str | None
) -> tuple[TrustBundle, str]:
    """The trust list to verify against, and where it came from."""
    if trust_file is not None:
        try:
            data = trust_file.read_bytes()
        except OSError as e:
            raise Refused(t("Không đọc được {path}: {e}", path=trust_file, e=e)) from e
        try:
            bundle = read_trust_bundle(data)
        except TrustError as e:
            raise Refused(str(e)) from e
        if pin is not None and rc.normalise_fingerprint(pin) != bundle.root.kid.hex():
            raise Refused(
                t(
                    "Dấu vân tay khóa gốc của {path} ({fp}) khác dấu vân tay đã cho.",
                    path=trust_file,
                    fp=bundle.root.fingerprint(),
                )
            )
        return bundle, str(trust_file)
    settings = settings_or_exit(db)
    if not settings.db.exists():
        raise click.UsageError(
            t(
                "Chưa có danh sách tin cậy: thêm --trust <tệp danh sách tin cậy của tỉnh> "
                "(hoặc --db của một quầy đã nhập danh sách)."
            )
        )
    with open_desk(db) as desk:
        found = rc.trust_bundle(desk)
    if found is None:
        raise click.UsageError(
            t(
                "Quầy chưa nhập danh sách tin cậy: thêm --trust <tệp> hoặc chạy "
                "«onestop keys import-trust»."
            )
        )
    if pin is not None and rc.normalise_fingerprint(pin) != found.root.kid.hex():
        raise Refused(t("Khóa gốc đã ghim của quầy khác dấu vân tay đã cho."))
    return found, str(settings.db)


def _claims_json(result: VerifyResult) -> dict[str, Any] | None:
    raw: RawClaims | None = result.raw
    if raw is None:
        return None
    return {
        "province": raw.province,
        "commune": raw.commune,
        "dossier_code": result.claims.dossier_code if result.claims else None,
        "dossier_code_tail": raw.code_tail,
        "procedure_code": raw.procedure_code,
        "applicant_name": raw.applicant_name,
        "received_at": raw.received_at.isoformat(sep=" ", timespec="seconds"),
        "due_at": raw.due_at.isoformat(sep=" ", timespec="minutes") if raw.due_at else None,
        "fee_vnd": raw.fee_vnd,
        "desk_seq": raw.desk,
        "official": raw.official,
    }


def _print_result(result: VerifyResult, bundle: TrustBundle) -> None:
    mark = "✓" if result.ok else "✗"
    click.echo(f"{mark} {t(result.label)}")
    click.echo(f"  {result.detail}")
    if result.kid is not None:
        click.echo("  " + t("Mã khóa: {kid}", kid=result.kid.hex()))
    raw = result.raw
    if raw is not None:
        if not result.ok:
            click.echo("  " + t("Nội dung trên mã (CHƯA được xác thực):"))
        code = result.claims.dossier_code if result.claims else f"…-{raw.code_tail}"
        rows = [
            (t("Mã hồ sơ"), code),
            (t("Người nộp"), raw.applicant_name),
            (t("Thủ tục"), raw.procedure_code),
            (t("Tỉnh / xã"), f"{raw.province} / {raw.commune}"),
            (t("Tiếp nhận"), datetime_vi(raw.received_at)),
            (t("Hẹn trả"), fmt_due(raw.due_at)),
            (t("Phí, lệ phí"), format_vnd(raw.fee_vnd)),
            (t("Cán bộ tiếp nhận"), raw.official or "—"),
            (t("Số sự kiện của quầy"), str(raw.desk)),
        ]
        width = max(len(label) for label, _ in rows)
        for label, value in rows:
            click.echo(f"  {label:<{width}}  {value}")
    tl = bundle.trust_list
    click.echo(
        "  "
        + t(
            "Danh sách tin cậy: tỉnh {p}, phiên bản {v} ({when}); khóa gốc {fp}.",
            p=tl.province,
            v=tl.version,
            when=_epoch_local(tl.issued_at),
            fp=bundle.root.fingerprint(),
        )
    )


@click.command("verify")
@db_option
@click.argument("input_", metavar="INPUT")
@click.option(
    "--trust",
    "trust_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Tệp danh sách tin cậy của tỉnh (mặc định: danh sách đã nhập vào quầy --db).",
)
@click.option(
    "--pin",
    default=None,
    help="Dấu vân tay khóa gốc của tỉnh phải khớp (nên dùng cùng --trust).",
)
@click.option(
    "--strict-revocation",
    is_flag=True,
    help="Từ chối mọi biên nhận của khóa đã thu hồi, kể cả biên nhận ký trước khi thu hồi.",
)
@json_option
@click.pass_context
@guard
def verify(
    ctx: click.Context,
    db: Path | None,
    input_: str,
    trust_file: Path | None,
    pin: str | None,
    strict_revocation: bool,
    as_json: bool,
) -> None:
    """Kiểm tra biên nhận, không cần mạng: INPUT là nội dung mã QR, ảnh PNG/JPEG hoặc «-».

    \b
    Mã thoát: 0 hợp lệ, 3 chữ số ký sai, 4 khóa không có trong danh sách,
    5 khóa đã thu hồi, 6 mã không đúng định dạng; 1 đầu vào không đọc được.
    """
    set_language(settings_or_exit(db).language)
    bundle, source = _load_trust(db, trust_file, pin)
    texts = _read_input(input_)
    results = [
        verify_receipt(text, bundle.trust_list, strict_revocation=strict_revocation)
        for text in texts
    ]
    # A photo may hold several codes: report the first that is a receipt at all.
    result = next((r for r in results if r.verdict is not Verdict.MALFORMED), results[0])
    if as_json:
        emit(
            {
                "verdict": result.verdict.value,
                "label": t(result.label),
                "exit_code": result.exit_code,
                "detail": result.detail,
                "kid": result.kid.hex() if result.kid else None,
                "proven": result.ok,
                "claims": _claims_json(result),
                "signer": None
                if result.entry is None
                else {
                    "desk_label": result.entry.desk_label,
                    "commune": result.entry.commune,
                    "unit_eid": result.entry.unit_eid,
                },
                "trust": {
                    "source": source,
                    "province": bundle.trust_list.province,
                    "version": bundle.trust_list.version,
                    "root_fingerprint": bundle.root.fingerprint(),
                },
            }
        )
    else:
        _print_result(result, bundle)
    ctx.exit(result.exit_code)
