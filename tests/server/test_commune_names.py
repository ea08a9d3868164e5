"""Commune names on the province side (issue 17): each desk sends the name it knows its commune
by when it enrolls; the server keeps one name per commune for the dashboard to show. Desks
from before the name (a 7-key request) still enroll, and a bad name never blocks enrollment
of a good desk, but a wrongly typed request is refused and changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from onestop.crypto.signer import SoftwareSigner
from onestop.server import repo
from onestop.server.admin import new_enroll_code
from onestop.server.reference import publish
from onestop.server.web import province, staff
from onestop.wire.base import b64e, now_epoch
from onestop.wire.enroll import ENROLL_HASH_PREFIX, enroll_secret_hash, normalise_enroll_code
from onestop.wire.messages import ENROLL_CT, sign
from tests.server.conftest import Server
from tests.services.sync.helpers import enroll, make_desk


def _names(server: Server) -> dict[str, str]:
    with server.db.read() as conn:
        return province.commune_names(conn)


def _raw_enroll(server: Server, commune: str, extra: dict[int, Any]) -> httpx.Response:
    code = new_enroll_code(server.db, commune=commune, desk_name="Quầy 1", desk_no=1).code
    signer = SoftwareSigner.generate()
    payload: dict[int, Any] = {
        1: ENROLL_HASH_PREFIX + enroll_secret_hash(normalise_enroll_code(code)).hex(),
        2: commune,
        3: 1,
        4: "Quầy 1",
        5: True,
        6: now_epoch(),
        7: "000.77.14.H56",
        **extra,
    }
    body = {
        "alg": signer.alg,
        "public_key": b64e(signer.public_key_bytes()),
        "request": b64e(sign(signer, ENROLL_CT, payload)),
    }
    return server.client.post("/sync/v1/enroll", json=body)


def test_a_desk_names_its_commune_at_enrollment(server: Server, tmp_path: Path):
    desk = make_desk(tmp_path / "desk.sqlite", n=31)
    try:
        enroll(desk, server.url, "http://server", transport=httpx.ASGITransport(app=server.app))
    finally:
        desk.close()
    assert _names(server)["20031"] == "Xã Thử 31"
    with server.db.read() as conn:
        assert repo.commune_names(conn=conn) == {"20031": "Xã Thử 31"}
    # The dashboard and its JSON API show it.
    staff.add_staff(server.db, "can.bo", "mật khẩu tỉnh 2026", display_name="Cán bộ")
    login = server.client.post(
        "/province/login", data={"username": "can.bo", "password": "mật khẩu tỉnh 2026"}
    )
    cookie = {"Cookie": f"{staff.COOKIE_NAME}={login.cookies[staff.COOKIE_NAME]}"}
    page = server.client.get("/province", headers=cookie)
    assert page.status_code == 200 and "Xã Thử 31" in page.text
    api = server.client.get("/api/v1/province/communes", headers=cookie).json()
    assert [c["name"] for c in api["items"]] == ["Xã Thử 31"]


def test_older_desks_without_a_name_still_enroll(server: Server):
    r = _raw_enroll(server, "20032", {})
    assert r.status_code == 200, r.text
    assert "20032" not in _names(server)  # the dashboard falls back to «Xã 20032»


def test_the_name_is_cleaned_and_bad_types_are_refused(server: Server):
    r = _raw_enroll(server, "20033", {8: "  Xa\u0303 Thử Ba  "})  # NFD, spaces
    assert r.status_code == 200, r.text
    assert _names(server)["20033"] == "Xã Thử Ba"
    r = _raw_enroll(server, "20034", {8: "Xã \u202eThử"})  # bidi control: shown as the code
    assert r.status_code == 200, r.text
    assert "20034" not in _names(server)
    for bad in ({8: 5}, {8: "x" * 500}, {8: "Xã", 9: "thừa"}):
        r = _raw_enroll(server, "20035", bad)
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["error"] == "bad_request"
    with server.db.read() as conn:
        assert repo.get_desk(conn=conn, desk_id="20035-01") is None


@pytest.mark.parametrize("units_name", ["Xã Chính Thức", ""])
def test_the_published_units_list_wins(server: Server, tmp_path: Path, units_name: str):
    assert _raw_enroll(server, "20036", {8: "Xã Do Quầy Đặt"}).status_code == 200
    csv = f"code,name,level,parent_code\n38,Thanh Hóa,province,\n20036,{units_name},commune,38\n"
    publish(server.db, "units", csv.encode())
    assert _names(server)["20036"] == (units_name or "Xã Do Quầy Đặt")
