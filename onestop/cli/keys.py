"""``onestop keys …``: the desk's signing key and the province trust list (desk and province side)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from onestop.cli._common import (
    Refused,
    count,
    db_option,
    desk_now,
    emit,
    file_option,
    guard,
    json_option,
    open_desk,
    parse_dt,
    passphrase_file_option,
    read_passphrase,
)
from onestop.crypto.keys import KeyFileError, load_key_file
from onestop.crypto.trust import (
    RootKey,
    TrustError,
    export_trust_file,
    read_trust_bundle,
)
from onestop.domain.clock import VN_TZ
from onestop.domain.roles import Permission
from onestop.domain.text import datetime_text
from onestop.i18n import t
from onestop.paths import write_atomically
from onestop.services import keys as keys_svc

passphrase_option = passphrase_file_option(
    "Tệp chứa mật khẩu khóa (dòng đầu). Không có: biến ONESTOP_PASSPHRASE, "
    "rồi hỏi trên màn hình (không hiện chữ)."
)


def _epoch_local(epoch: int) -> str:
    return datetime_text(datetime.fromtimestamp(epoch, VN_TZ).replace(tzinfo=None))


@click.group("keys")
def keys() -> None:
    """Khóa ký của quầy và danh sách tin cậy của tỉnh.

    \b
    Tại quầy:   keys create-desk → keys export-public → (tỉnh cấp) → keys import-trust
    Tại tỉnh:   keys create-root (một lần) → keys issue-trust
    """


@keys.command("create-root")
@file_option("--out", required=True, help_text="Tệp khóa gốc.")
@click.option("--label", default="", help="Nhãn khóa, ví dụ «Khóa gốc tỉnh Thanh Hóa».")
@passphrase_option
@json_option
@guard
def keys_create_root(out: Path, label: str, passphrase_file: Path | None, as_json: bool) -> None:
    """(Tỉnh) Tạo khóa gốc của tỉnh, dùng để ký danh sách tin cậy."""
    secret = read_passphrase(passphrase_file, what=t("khóa gốc"), confirm=True)
    signer = keys_svc.create_root_key(out, secret, label=label or t("Khóa gốc của tỉnh"))
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
        desk.require(Permission.DESK_KEY)  # before asking for a passphrase
        secret = read_passphrase(passphrase_file, what=t("khóa quầy"), confirm=True)
        kid = keys_svc.create_desk_key(desk, secret)
        path = keys_svc.desk_key_path(desk)
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
@file_option("--out", required=True, help_text="Tệp yêu cầu cấp khóa (JSON) để gửi tỉnh.")
@json_option
@guard
def keys_export_public(db: Path | None, out: Path, as_json: bool) -> None:
    """Xuất khóa công khai của quầy (tệp yêu cầu cấp khóa gửi tỉnh)."""
    with open_desk(db) as desk:
        data = keys_svc.desk_public_export(desk)
    req = keys_svc.parse_key_request(data)
    try:
        write_atomically(out, data)
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
@file_option("--root", "root_path", required=True, help_text="Tệp khóa gốc của tỉnh.")
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
    type=count(1, 2**31 - 1),
    default=None,
    help="Phiên bản danh sách (mặc định: phiên bản hiện có + 1).",
)
@click.option("--host", default=None, help="Tên máy chủ tra cứu in trong mã QR biên nhận.")
@file_option(
    "--out",
    required=True,
    help_text="Tệp danh sách tin cậy; nếu đã có thì được mở rộng (phải do cùng khóa gốc ký).",
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
            requests.append(keys_svc.parse_key_request(path.read_bytes()))
        except OSError as e:
            raise Refused(t("Không đọc được {path}: {e}", path=path, e=e)) from e
    kids = [bytes.fromhex(keys_svc.normalise_fingerprint(k)) for k in revoke]
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
    tl = keys_svc.issue_trust_list(
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
        keys_svc.require_trust_import(desk)  # before showing a root to pin
        allow_first_use = False
        if pin is None and keys_svc.trust_bundle(desk) is None:
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
        result = keys_svc.import_trust(desk, file, pin, allow_first_use=allow_first_use)
        has_key = keys_svc.desk_key_info(desk) is not None
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
        summary = keys_svc.key_summary(desk)
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
