"""The provincial server's address: https, or plain http only where nothing leaves the machine.

Sync carries citizens' names, ID numbers and phone numbers. Signatures stop tampering, not
reading, so a plain ``http://`` link to another machine would show them to anyone on the path
(the commune LAN, the ISP). ``check_server_url`` is the one check, used by enrollment, by every
sync run and by the settings file's ``server_url``: https always; http only to this machine
(127.0.0.0/8, ::1, localhost) unless the ``allow_insecure_http`` setting is on, which is meant
for a lab and makes enrollment warn.

Light on purpose (stdlib and i18n only): ``onestop.config`` imports it to check the settings file.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from onestop.i18n import t
from onestop.services.base import DeskError

__all__ = [
    "ServerUrlError",
    "check_server_url",
    "insecure_http_warning",
    "is_loopback_host",
    "is_plain_http_elsewhere",
    "plain_http_allowed",
]


class ServerUrlError(DeskError, ValueError):
    """A server address refused; ``str(e)`` says why and what to do (Vietnamese).

    A DeskError for the CLI and the TUI (which show it), a ValueError for the settings checks.
    """


def is_loopback_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def _parts(url: str) -> tuple[str, str]:
    """(scheme, host) of a well-formed server address, else ServerUrlError."""
    malformed = ServerUrlError(
        t(
            "Địa chỉ máy chủ tỉnh «{u}» không hợp lệ: phải có dạng https://tên-máy-chủ[:cổng]"
            "[/đường-dẫn], không có khoảng trắng, tên đăng nhập, «?» hay «#».",
            u=url,
        )
    )
    if not url or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise malformed
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError as e:
        raise malformed from e
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ServerUrlError(
            t(
                "Địa chỉ máy chủ tỉnh «{u}» phải bắt đầu bằng https:// (giao thức «{s}» không "
                "được hỗ trợ).",
                u=url,
                s=parts.scheme or "?",
            )
        )
    if (
        not parts.hostname
        or parts.username is not None
        or parts.password is not None
        or parts.query
        or parts.fragment
        or "?" in url
        or "#" in url
    ):
        raise malformed
    return scheme, parts.hostname


def is_plain_http_elsewhere(url: str) -> bool:
    """Whether ``url`` is plain http to another machine (what the setting must allow)."""
    scheme, host = _parts(url.strip())
    return scheme == "http" and not is_loopback_host(host)


def check_server_url(url: str, allow_plain_http: bool) -> str:
    """``url`` checked and tidied (no surrounding spaces, no trailing «/»), or ServerUrlError.

    https:// always; http:// to this machine always (the tests' and a lab's 127.0.0.1); http://
    to any other host only when ``allow_plain_http`` (the ``allow_insecure_http`` setting).
    Every other scheme, and anything malformed, is refused.
    """
    url = url.strip().rstrip("/")
    scheme, host = _parts(url)
    if scheme == "http" and not is_loopback_host(host) and not allow_plain_http:
        raise ServerUrlError(
            t(
                "Máy chủ tỉnh phải dùng https:// (địa chỉ «{u}» dùng http://): qua http, họ tên, "
                "số định danh và số điện thoại của công dân đi trên mạng dưới dạng ai cũng đọc "
                "được. Hãy dùng địa chỉ https:// do tỉnh cung cấp. Chỉ phòng thử nghiệm mới được "
                "bật allow_insecure_http.",
                u=url,
            )
        )
    return url


def insecure_http_warning(url: str) -> str:
    return t(
        "Cảnh báo: quầy đồng bộ với {u} qua http:// không mã hóa (allow_insecure_http đang "
        "bật). Dữ liệu công dân đi trên mạng dưới dạng đọc được; chỉ dùng trong phòng thử "
        "nghiệm, không dùng với dữ liệu thật.",
        u=url,
    )


def plain_http_allowed() -> bool:
    """The ``allow_insecure_http`` setting (settings file, ONESTOP_ALLOW_INSECURE_HTTP)."""
    from onestop.config import ConfigError, load_settings  # here: config imports this module

    try:
        return load_settings().allow_insecure_http
    except ConfigError as e:
        raise ServerUrlError(str(e)) from e
