"""Plain http only to this machine, unless a lab turns allow_insecure_http on (hardening audit,
item 4): enrollment, sync and the settings file all refuse http:// to another host."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest

from onestop.config import ConfigError, load_settings
from onestop.server.admin import new_enroll_code, open_db
from onestop.services.desk import Desk
from onestop.services.setting_keys import S_SERVER_KEY, S_URL
from onestop.services.sync import base as sync_base
from onestop.services.sync import client as sync_client
from onestop.services.sync import enroll as sync_enroll
from onestop.services.sync.url import ServerUrlError, check_server_url, is_loopback_host
from tests.cli.login import ADMIN, init_desk
from tests.server.conftest import Server
from tests.server.conftest import server as server  # noqa: F401 - the in-process server fixture
from tests.services.sync.helpers import enroll, make_desk, passphrase
from tests.services.sync.test_bundle_limits import run  # the same CliRunner setup

REFUSAL = "Máy chủ tỉnh phải dùng https://"
LAB = "Chỉ phòng thử nghiệm mới được bật allow_insecure_http"
#: TEST-NET-2 (RFC 5737): never routed, so a connection there fails (quickly, with a short
#: timeout) — proof the address passed the check and the desk went to the network.
UNROUTED = "http://198.51.100.7:9"


@pytest.fixture(autouse=True)
def _no_lab_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ONESTOP_ALLOW_INSECURE_HTTP", raising=False)
    monkeypatch.delenv("ONESTOP_SERVER_URL", raising=False)


# ----------------------------------------------------------------------------- the check


@pytest.mark.parametrize(
    "url",
    [
        "https://sync.example.gov.vn",
        "https://sync.example.gov.vn:8443/onestop/",
        "HTTPS://Sync.Example.gov.vn",
        "http://127.0.0.1:8080",
        "http://127.1.2.3",
        "http://localhost:8000/",
        "http://[::1]:8080",
        "http://[::ffff:127.0.0.1]",
    ],
)
def test_https_and_loopback_http_are_allowed(url: str):
    assert check_server_url(url, False) == url.strip().rstrip("/")


@pytest.mark.parametrize(
    "url", ["http://example.org", "http://10.0.0.5:8080", "http://[fd00::2]", "http://server"]
)
def test_plain_http_to_another_host_needs_the_lab_setting(url: str):
    with pytest.raises(ServerUrlError) as got:
        check_server_url(url, False)
    assert REFUSAL in str(got.value) and LAB in str(got.value)
    assert check_server_url(url, True) == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.org", "phải bắt đầu bằng https://"),
        ("file:///etc/passwd", "phải bắt đầu bằng https://"),
        ("example.org", "phải bắt đầu bằng https://"),
        ("", "không hợp lệ"),
        ("https://", "không hợp lệ"),
        ("https://exa mple.org", "không hợp lệ"),
        ("https://user:pw@example.org", "không hợp lệ"),
        ("https://example.org/?x=1", "không hợp lệ"),
        ("https://example.org/#x", "không hợp lệ"),
        ("https://example.org:99999", "không hợp lệ"),
        ("https://example.org:abc", "không hợp lệ"),
        ("https://example.org\n", "https://example.org"),  # trailing whitespace is tidied
    ],
)
def test_other_schemes_and_malformed_addresses_are_refused(url: str, why: str):
    if why.startswith("https://"):
        assert check_server_url(url, False) == why
        return
    with pytest.raises(ServerUrlError, match=why):
        check_server_url(url, True)  # the lab setting never allows these


def test_loopback_hosts():
    assert is_loopback_host("127.0.0.1") and is_loopback_host("::1")
    assert is_loopback_host("LOCALHOST") and not is_loopback_host("localhost.example.org")
    assert not is_loopback_host("128.0.0.1") and not is_loopback_host("0.0.0.0")


# ----------------------------------------------------------------------------- enrollment


def _code(db_url: str, desk: Desk) -> str:
    db = open_db(db_url)
    try:
        return new_enroll_code(
            db,
            commune=desk.identity.commune_code,
            desk_name=desk.identity.desk_name,
            desk_no=desk.identity.desk_no,
        ).code
    finally:
        db.close()


def test_enroll_over_plain_http_elsewhere_is_refused_and_stores_nothing(tmp_path: Path):
    desk = make_desk(tmp_path / "desk.sqlite", n=61)
    try:
        with pytest.raises(ServerUrlError) as got:
            sync_enroll.enroll(
                desk, "http://example.org", "ABCD-EFGH-JKMN-PQRS", passphrase_provider=passphrase
            )
        assert REFUSAL in str(got.value) and LAB in str(got.value)
        assert desk.setting(S_URL) in (None, "") and desk.setting(S_SERVER_KEY) in (None, "")
        assert not sync_enroll.key_path(desk.store.path).exists()  # not even a key made
    finally:
        desk.close()


def test_enroll_with_the_lab_setting_goes_to_the_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("ONESTOP_ALLOW_INSECURE_HTTP", "1")
    desk = make_desk(tmp_path / "desk.sqlite", n=62)
    try:
        with pytest.raises(sync_base.SyncError) as got:
            asyncio.run(
                sync_enroll.enroll_async(
                    desk,
                    UNROUTED,
                    "ABCD-EFGH-JKMN-PQRS",
                    passphrase_provider=passphrase,
                    timeout=0.5,
                )
            )
        # Past the address check: what failed is the network (or whatever answers there).
        assert REFUSAL not in str(got.value)
    finally:
        desk.close()


def test_enroll_allowed_over_plain_http_records_a_warning(server: Server, tmp_path: Path):
    """The whole enrollment over plain http to a non-loopback name, explicitly allowed."""
    desk = make_desk(tmp_path / "desk.sqlite", n=63)
    asgi = httpx.ASGITransport(app=server.app)
    try:
        with pytest.raises(ServerUrlError, match=REFUSAL):
            enroll(desk, server.url, "http://server", transport=asgi, allow_plain_http=False)
        result = enroll(desk, server.url, "http://server", transport=asgi, allow_plain_http=True)
        assert result.warning is not None and "http://server" in result.warning
        assert "allow_insecure_http" in result.warning
        assert desk.setting(S_URL) == "http://server"
        https = make_desk(tmp_path / "other.sqlite", n=64)
        try:
            ok = enroll(https, server.url, "https://server", transport=asgi)
            assert ok.warning is None
        finally:
            https.close()
    finally:
        desk.close()


def test_enroll_to_loopback_is_allowed_without_the_setting(tmp_path: Path):
    """http://127.0.0.1 is the tests' and a lab's server: the check lets it through."""
    db_url = f"sqlite:///{tmp_path / 's.sqlite'}"
    desk = make_desk(tmp_path / "desk.sqlite", n=65)
    try:
        code = _code(db_url, desk)
        with pytest.raises(sync_base.SyncError) as got:
            asyncio.run(
                sync_enroll.enroll_async(
                    desk, "http://127.0.0.1:9", code, passphrase_provider=passphrase, timeout=2
                )
            )
        assert "Không kết nối được máy chủ tỉnh" in str(got.value)  # nothing listens on :9
    finally:
        desk.close()


def test_cli_enroll_refuses_plain_http_with_the_reason(tmp_path: Path):
    db = str(tmp_path / "desk.sqlite")
    init_desk(run, db)
    code, _, err = run(
        "enroll",
        "--db",
        db,
        "--server",
        "http://example.org",
        "--code",
        "ABCD-EFGH-JKMN-PQRS",
        env=ADMIN,  # enrolling is the admin's; the address is refused before any network call
    )
    assert code == 1 and REFUSAL in err and LAB in err and "Traceback" not in err


# ----------------------------------------------------------------------------- sync


def test_sync_refuses_a_stored_plain_http_address(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    desk = make_desk(tmp_path / "desk.sqlite", n=66)
    try:
        enroll(desk, server.url, "http://server", transport=httpx.ASGITransport(app=server.app))
        signer = sync_enroll.desk_signer(desk, passphrase)
        with pytest.raises(ServerUrlError, match=REFUSAL):
            sync_client.sync_once(desk, signer=signer)  # the real network stack
        with pytest.raises(ServerUrlError, match=REFUSAL):
            sync_client.sync_once(desk, UNROUTED, signer=signer)
        monkeypatch.setenv("ONESTOP_ALLOW_INSECURE_HTTP", "true")
        quick = sync_base.SyncOptions(timeout=0.5, connect_timeout=0.3, max_attempts=1)
        report = sync_client.sync_once(desk, UNROUTED, signer=signer, options=quick)
        assert report.error  # allowed: it tried the network, which is not there
    finally:
        desk.close()


# ----------------------------------------------------------------------------- settings


def test_settings_refuse_a_plain_http_server_url(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ONESTOP_SERVER_URL", "http://example.org")
    with pytest.raises(ConfigError) as got:
        load_settings()
    assert "ONESTOP_SERVER_URL" in str(got.value) and REFUSAL in str(got.value)
    monkeypatch.setenv("ONESTOP_ALLOW_INSECURE_HTTP", "yes")
    s = load_settings()
    assert s.allow_insecure_http and s.server_url == "http://example.org"
    monkeypatch.setenv("ONESTOP_SERVER_URL", "ftp://example.org")
    with pytest.raises(ConfigError, match="https://"):
        load_settings()


def test_settings_file_key_and_its_values():
    path = Path(os.environ["ONESTOP_CONFIG_FILE"])
    path.write_text('server_url = "http://10.1.2.3:8080"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[server_url\]"):
        load_settings()
    path.write_text(
        'server_url = "http://10.1.2.3:8080"\nallow_insecure_http = true\n', encoding="utf-8"
    )
    assert load_settings().allow_insecure_http
    path.write_text('allow_insecure_http = "maybe"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="true hoặc false"):
        load_settings()
    path.write_text('server_url = "http://127.0.0.1:8080"\n', encoding="utf-8")
    assert not load_settings().allow_insecure_http  # loopback needs no setting
