"""Child process of ``token.probe_module``: load one PKCS#11 module, list its tokens, print one
JSON line and exit. Runs apart from the desk so a module that hangs or crashes only takes this
process down (the parent has a timeout and reads the exit code)."""

from __future__ import annotations

import json
import struct
import sys


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").strip()
    return str(value).strip()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stdout.write(json.dumps({"error": "Cần đúng một đường dẫn thư viện PKCS#11."}) + "\n")
        return 2
    try:
        import pkcs11
    except ImportError:
        message = (
            "Chưa cài gói python-pkcs11 nên không dùng được token ký số; cài lại onestop "
            "hoặc chạy «pip install python-pkcs11»."
        )
        sys.stdout.write(json.dumps({"error": message}, ensure_ascii=False) + "\n")
        return 3
    bits = struct.calcsize("P") * 8
    try:
        lib = pkcs11.lib(argv[0])
    except (OSError, RuntimeError, pkcs11.exceptions.PKCS11Error) as exc:
        message = (
            f"Không nạp được thư viện PKCS#11 ({exc}). Kiểm tra đúng tệp của hãng token và "
            f"cùng kiến trúc với chương trình ({bits}-bit)."
        )
        sys.stdout.write(json.dumps({"error": message}, ensure_ascii=False) + "\n")
        return 4
    tokens = []
    for slot in lib.get_slots(token_present=True):
        try:
            token = slot.get_token()
        except pkcs11.exceptions.PKCS11Error:
            continue
        tokens.append(
            {
                "slot": int(slot.slot_id),
                "label": _text(token.label),
                "manufacturer": _text(token.manufacturer_id),
                "model": _text(token.model),
                "serial": _text(token.serial),
                "flags": int(token.flags),
            }
        )
    library = " ".join(
        _text(getattr(lib, name, "")) for name in ("manufacturer_id", "library_description")
    ).strip()
    answer = {"library": library, "bits": bits, "tokens": tokens}
    sys.stdout.write(json.dumps(answer, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
