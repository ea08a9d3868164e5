"""``onestop verify-pdf``, ``onestop sign-pdf`` and ``onestop signer …``: officials' PAdES
signatures on slips and results (services/signing.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from onestop.cli._common import (
    Refused,
    db_option,
    emit,
    file_option,
    guard,
    json_option,
    open_desk,
    pin_file_option,
    settings_or_exit,
)
from onestop.crypto import certs, pdfverify
from onestop.crypto import token as tok
from onestop.domain.clock import VN_TZ
from onestop.i18n import set_language, t
from onestop.paths import write_atomically
from onestop.services import signing
from onestop.services.keys import keys_dir

_MAX_PDF = 200 * 1024 * 1024


def _read_pdf(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_PDF + 1)
    except OSError as e:
        raise Refused(t("Không đọc được {path}: {e}", path=path, e=e.strerror or e)) from e
    if len(data) > _MAX_PDF:
        raise Refused(t("Tệp {path} quá lớn.", path=path))
    return data


def _secret_reader(pin_file: Path | None) -> signing.Secret:
    """The official's passphrase / PIN: first line of ``--pin-file``, else a masked prompt.
    Never an option value (shell history, ``ps``), never stored."""

    def read(official: signing.Official) -> str | None:
        if pin_file is not None:
            try:
                lines = pin_file.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as e:
                raise Refused(t("Không đọc được tệp {path}: {e}", path=pin_file, e=e)) from e
            return lines[0] if lines else ""
        if official.kind == "token" and official.token is not None:
            _show_token(official.token)
        value: str = click.prompt(
            t("{what} của {name}", what=official.secret_label, name=official.name),
            hide_input=True,
            err=True,
        )
        return value

    return read


def _show_token(config: tok.TokenConfig) -> None:
    try:
        result = tok.probe_module(config.module, env=config.env)
    except tok.TokenError as e:
        raise Refused(str(e)) from e
    for found in result.tokens:
        if not config.token_label or found.label == config.token_label:
            click.echo(
                t(
                    "Token «{label}» ({maker}): {state}",
                    label=found.label,
                    maker=found.manufacturer,
                ).replace("{state}", found.pin_state),
                err=True,
            )


@click.command("verify-pdf")
@db_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--trust",
    "trust",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Chứng thư CA gốc tin cậy hoặc danh sách thu hồi (CRL) thêm vào (PEM/DER; lặp lại được).",
)
@json_option
@click.pass_context
@guard
def verify_pdf(
    ctx: click.Context, db: Path | None, file: Path, trust: tuple[Path, ...], as_json: bool
) -> None:
    """Kiểm tra chữ ký số (PAdES) trong tệp PDF FILE, không cần mạng.

    Với mỗi chữ ký: người ký, thời gian ký, văn bản còn nguyên vẹn hay đã bị sửa, chứng thư có
    do CA gốc tin cậy cấp (CA của tỉnh và các CA gốc trong thư mục pdf-trust của quầy, cùng
    --trust) và có bị thu hồi/hết hạn không.

    \b
    Mã thoát: 0 hợp lệ, 3 văn bản đã bị sửa sau khi ký, 4 chứng thư không tin cậy hoặc hết
    hạn, 5 chứng thư đã bị thu hồi, 6 không có chữ ký số hoặc không phải PDF; 1 không đọc được.
    """
    settings = settings_or_exit(db)
    set_language(settings.language)
    data = _read_pdf(file)
    folder = keys_dir(settings.db)
    try:
        roots, crls = signing.trust_material(folder if folder.is_dir() else None, trust)
    except signing.SigningError as e:
        raise Refused(str(e)) from e
    report = pdfverify.verify_pdf(data, roots, crls)
    if as_json:
        emit(report.to_json() | {"file": str(file), "trust_roots": len(roots)})
    else:
        click.echo(f"{t(report.verdict.label)}: {report.detail}")
        for sig in report.signatures:
            when = (
                sig.signed_at.astimezone(VN_TZ).strftime("%H:%M:%S %d/%m/%Y")
                if sig.signed_at
                else "?"
            )
            title = f" ({sig.title})" if sig.title else ""
            click.echo(
                t(
                    "- {field}: {signer}{title}, ký lúc {when}: {label}",
                    field=sig.field,
                    signer=sig.signer or "?",
                    title=title,
                    when=when,
                    label=t(sig.verdict.label),
                )
            )
        for name in report.empty_fields:
            click.echo(t("- {field}: chưa ký số", field=name))
    ctx.exit(report.exit_code)


@click.command("sign-pdf")
@db_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--code", default="", help="Mã hồ sơ, khi FILE là văn bản kết quả giải quyết.")
@click.option("--signer", default="", help="Người ký (mặc định: người ký theo quy định).")
@click.option("--agency", is_flag=True, help="Thêm chữ ký số của cơ quan (kèm con dấu).")
@file_option(
    "--out",
    help_text="Ghi bản đã ký ra tệp này (mặc định: ghi đè FILE sau khi đã kiểm tra chữ ký).",
)
@pin_file_option(
    "Tệp chứa mã PIN token / mật khẩu khóa ký số (dòng đầu); không có thì hỏi, không hiện chữ."
)
@json_option
@guard
def sign_pdf(
    db: Path | None,
    file: Path,
    code: str,
    signer: str,
    agency: bool,
    out: Path | None,
    pin_file: Path | None,
    as_json: bool,
) -> None:
    """Ký số (PAdES) một phiếu đã in mà chưa ký, hoặc văn bản kết quả của hồ sơ --code.

    Phiếu: ký vào ô chữ ký còn trống của người ký theo quy định. Kết quả: người ra quyết định
    ký; --agency thêm chữ ký của cơ quan. Bản ký được kiểm tra trước khi ghi; lỗi thì tệp cũ
    giữ nguyên.
    """
    data = _read_pdf(file)
    with open_desk(db) as desk:
        try:
            signed = signing.sign_document(
                desk, data, _secret_reader(pin_file), code=code, signer=signer, agency=agency
            )
        except (tok.TokenError, certs.CertError) as e:
            raise Refused(str(e)) from e
        report = signing.verify_document(signed, desk)
    target = out or file
    try:
        write_atomically(target, signed, mode=0o600)
    except OSError as e:
        raise Refused(t("Không ghi được {path}: {e}", path=target, e=e)) from e
    last = report.signatures[-1] if report.signatures else None
    if as_json:
        emit({"file": str(target), "bytes_added": len(signed) - len(data)} | report.to_json())
        return
    click.echo(
        t(
            "Đã ký {path}: {signer}. {detail}",
            path=target,
            signer=last.signer if last else "?",
            detail=report.detail,
        )
    )


@click.group("signer")
def signer() -> None:
    """Khóa ký số (chứng thư số) của cán bộ ký phiếu và kết quả trên quầy này.

    \b
    Token thật: signer probe THƯ-VIỆN → signer add-token --module THƯ-VIỆN ...
    Ký sau:     onestop sign-pdf TỆP.pdf
    Kiểm tra:   onestop verify-pdf TỆP.pdf
    """


def _official_json(o: signing.Official) -> dict[str, Any]:
    cert = o.certificate
    return {
        "name": o.name,
        "title": o.title,
        "agency": o.agency,
        "kind": o.kind,
        "serial": format(cert.serial_number, "x"),
        "issuer": cert.issuer.rfc4514_string(),
        "valid_to": cert.not_valid_after_utc.astimezone(VN_TZ).date().isoformat(),
        "token": o.token.to_json() if o.token else None,
    }


@signer.command("list")
@db_option
@json_option
@guard
def signer_list(db: Path | None, as_json: bool) -> None:
    """Liệt kê cán bộ có khóa ký số trên quầy này."""
    with open_desk(db) as desk:
        people = [_official_json(o) for o in signing.officials(desk)]
    if as_json:
        emit(people)
        return
    if not people:
        click.echo(t("Chưa có cán bộ nào có khóa ký số trên quầy này."))
    for p in people:
        kind = t("token") if p["kind"] == "token" else t("khóa phần mềm")
        click.echo(
            t(
                "{name} ({title}) — {kind}, chứng thư đến {to}",
                name=p["name"],
                title=p["title"] or "?",
                kind=kind,
                to=p["valid_to"],
            )
        )


@signer.command("probe")
@click.argument("module", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--timeout", type=click.FloatRange(1, 120), default=tok.PROBE_TIMEOUT)
@json_option
@guard
def signer_probe(module: Path, timeout: float, as_json: bool) -> None:
    """Thử thư viện PKCS#11 MODULE của hãng token (trong tiến trình riêng, có giới hạn thời
    gian): liệt kê token, nhãn và tình trạng mã PIN."""
    try:
        result = tok.probe_module(module, timeout=timeout)
    except tok.TokenError as e:
        raise Refused(str(e)) from e
    if as_json:
        emit(
            {
                "module": str(result.module),
                "library": result.library,
                "tokens": [
                    {
                        "slot": x.slot,
                        "label": x.label,
                        "manufacturer": x.manufacturer,
                        "model": x.model,
                        "serial": x.serial,
                        "pin_state": x.pin_state,
                    }
                    for x in result.tokens
                ],
            }
        )
        return
    click.echo(t("Thư viện: {lib}", lib=result.library or module.name))
    if not result.tokens:
        click.echo(t("Không thấy token nào: cắm token vào cổng USB rồi thử lại."))
    for x in result.tokens:
        click.echo(
            t(
                "Khe {slot}: token «{label}» ({maker} {model})",
                slot=x.slot,
                label=x.label,
                maker=x.manufacturer,
                model=x.model,
            )
        )
        click.echo(f"  {x.pin_state}")


@signer.command("add-token")
@db_option
@click.option("--module", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--token-label", default="", help="Nhãn token (xem signer probe).")
@click.option("--slot", type=int, default=None, help="Số khe (khi nhiều token cùng nhãn).")
@click.option("--key-label", default="", help="Nhãn khóa trên token.")
@click.option("--key-id", default="", help="ID khóa trên token (hệ 16).")
@file_option("--chain", help_text="Chứng thư CA cấp cho cán bộ (PEM), nếu token không chứa.")
@pin_file_option("Tệp chứa mã PIN (dòng đầu); không có thì hỏi, không hiện chữ.")
@guard
def signer_add_token(
    db: Path | None,
    module: Path,
    token_label: str,
    slot: int | None,
    key_label: str,
    key_id: str,
    chain: Path | None,
    pin_file: Path | None,
) -> None:
    """Đăng ký token ký số của một cán bộ: tên, chức vụ lấy từ chứng thư trên token."""
    try:
        config = tok.TokenConfig(
            module=module,
            token_label=token_label,
            slot=slot,
            key_label=key_label,
            key_id=bytes.fromhex(key_id),
        )
    except ValueError as e:
        raise Refused(t("ID khóa phải là số hệ 16, ví dụ 01a2.")) from e
    extra = certs.load_certificates(chain.read_bytes()) if chain is not None else []
    if pin_file is not None:
        pin = _secret_reader(pin_file)(signing.Official("", "", "", "", "token", (), token=config))
    else:
        _show_token(config)
        pin = click.prompt(t("Mã PIN token"), hide_input=True, err=True)
    with open_desk(db) as desk:
        try:
            official = signing.enroll_token_official(desk, config, pin or "", chain=extra)
        except (tok.TokenError, certs.CertError, ValueError) as e:
            raise Refused(str(e)) from e
    click.echo(
        t("Đã đăng ký token của {name} ({title}).", name=official.name, title=official.title)
    )
