"""Commands for signed receipts: ``keys``, ``receipt``, ``verify``, ``slip``.

Same conventions as ``onestop.cli.main``: exit 0 done, 1 refused input (message on stderr, nothing
changed), 2 usage; ``verify`` exits with the verdict's code (0 valid, 3 bad signature, 4
unknown key, 5 revoked key, 6 malformed; ``onestop.crypto.verify.EXIT_CODES``).

Passphrases never come from a command-line argument (it would stay in the shell history and
in ``ps``): ``--passphrase-file FILE`` (first line), else ``ONESTOP_PASSPHRASE``, else a hidden
prompt on the terminal.

``onestop.cli.main`` attaches the commands to the main group with ``register(main)``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from onestop.cli._common import (
    Refused,
    db_option,
    emit,
    file_option,
    fmt_due,
    guard,
    json_option,
    open_desk,
    pin_file_option,
    read_passphrase,
    settings_or_exit,
)
from onestop.cli.keys import _epoch_local, passphrase_option
from onestop.cli.pdfsign import _secret_reader
from onestop.crypto.certs import CertError
from onestop.crypto.token import TokenError
from onestop.crypto.trust import (
    TrustBundle,
    TrustError,
    read_trust_bundle,
)
from onestop.crypto.verify import Verdict, VerifyResult, verify_receipt
from onestop.domain.receipt import RawClaims
from onestop.domain.text import datetime_text, format_vnd
from onestop.forms.qr import QrDecodeError, decode_image, qr_png, qr_terminal
from onestop.forms.slips import SlipKind
from onestop.i18n import set_language, t
from onestop.paths import write_atomically
from onestop.services import keys as keys_svc
from onestop.services import receipts as rc
from onestop.services.signing import Secret, no_secret

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


_MAX_QR_TEXT = 8192


@click.command("receipt")
@db_option
@click.argument("code")
@file_option(
    "--pdf", "pdf_path", help_text="Ghi Giấy tiếp nhận hồ sơ (PDF, hai liên) có mã QR đã ký."
)
@file_option("--png", "png_path", help_text="Ghi riêng mã QR ra tệp PNG.")
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
        signer = keys_svc.unlock_desk_key(
            desk, read_passphrase(passphrase_file, what=t("khóa quầy"))
        )
        issued = rc.issue_receipt(desk, code, signer)
        pdf = rc.render_receipt_pdf(desk, issued) if pdf_path else None
    written: list[Path] = []
    try:
        if pdf_path is not None and pdf is not None:
            write_atomically(pdf_path, pdf)
            written.append(pdf_path)
        if png_path is not None:
            write_atomically(png_path, qr_png(issued.qr_text))
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


@click.command("slip")
@db_option
@click.argument("code")
@click.argument("kind", type=click.Choice([k.value for k in SlipKind]), metavar="KIND")
@file_option("--pdf", "pdf_path", required=True, help_text="Tệp PDF cần ghi.")
@pin_file_option(
    "Tệp chứa mã PIN token / mật khẩu khóa ký số của người ký (dòng đầu); không có thì "
    "hỏi, không hiện chữ."
)
@click.option(
    "--unsigned",
    is_flag=True,
    help="In phiếu không ký số: không khóa quầy, không chữ ký của người ký («(Chưa ký số)»).",
)
@passphrase_option
@guard
def slip(
    db: Path | None,
    code: str,
    kind: str,
    pdf_path: Path,
    pin_file: Path | None,
    unsigned: bool,
    passphrase_file: Path | None,
) -> None:
    """In một phiếu của hồ sơ CODE ra PDF, có chữ ký số (PAdES) của người ký theo quy định.

    \b
    KIND: receipt (giấy tiếp nhận, có mã QR), supplement (yêu cầu bổ sung),
    refusal (từ chối), apology (xin lỗi, gia hạn), stop (dừng giải quyết),
    control (phiếu kiểm soát).

    Nếu khóa ký số của người ký (cán bộ tiếp nhận, thủ trưởng...) có trên quầy: hỏi mã PIN
    token / mật khẩu khóa (không hiện chữ) rồi ký, hoặc đọc dòng đầu của --pin-file. Không có
    khóa, không chạy trong cửa sổ lệnh mà không có --pin-file, hoặc có --unsigned: phiếu in
    «(Chưa ký số)», ký sau bằng onestop sign-pdf.

    \b
    Ví dụ: onestop slip 000.00.14.H56-260205-010001 receipt --pdf bien-nhan.pdf
           onestop slip 000.00.14.H56-260205-010001 apology --pdf xin-loi.pdf --pin-file pin.txt
    """
    with open_desk(db) as desk:
        signer = (
            None
            if unsigned
            else keys_svc.unlock_desk_key(
                desk, read_passphrase(passphrase_file, what=t("khóa quầy"))
            )
        )
        # The legal signer's PIN: a file, else a masked prompt on a terminal; without either
        # the slip is printed "(Chưa ký số)" rather than waiting on a prompt nobody sees. A
        # demo desk (secret None) signs with the published demo secrets by itself.
        secret: Secret | None
        if unsigned:
            secret = no_secret
        elif pin_file is not None:
            secret = _secret_reader(pin_file)
        elif desk.setting("demo") == "1":
            secret = None
        elif _interactive():
            secret = _secret_reader(None)
        else:
            secret = no_secret
        try:
            result = rc.render_slip_signing(desk, code, kind, signer, pdf_secret=secret)
        except (TokenError, CertError) as e:
            raise Refused(str(e)) from e
    try:
        write_atomically(pdf_path, result.pdf)
    except OSError as e:
        raise Refused(t("Không ghi được {path}: {e}", path=pdf_path, e=e)) from e
    click.echo(t("Đã ghi {path}.", path=pdf_path))
    if result.signed:
        click.echo(t("Đã ký số: {name}.", name=result.signer))
    elif result.signer:
        click.echo(
            t(
                "Phiếu in «(Chưa ký số)»: {name} ký sau bằng lệnh «onestop sign-pdf {file}».",
                name=result.signer,
                file=pdf_path,
            )
        )
    else:
        click.echo(result.reason)


def _interactive() -> bool:
    """Whether someone can answer a hidden prompt (stdin is a terminal)."""
    return sys.stdin.isatty()


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
        if pin is not None and keys_svc.normalise_fingerprint(pin) != bundle.root.kid.hex():
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
        found = keys_svc.trust_bundle(desk)
    if found is None:
        raise click.UsageError(
            t(
                "Quầy chưa nhập danh sách tin cậy: thêm --trust <tệp> hoặc chạy "
                "«onestop keys import-trust»."
            )
        )
    if pin is not None and keys_svc.normalise_fingerprint(pin) != found.root.kid.hex():
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
            (t("Tiếp nhận"), datetime_text(raw.received_at)),
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
