"""Routes of the provincial web: the receipt page, the province dashboard, their JSON API.

=======  ==========================================  ============================================
GET      /r1                                         citizen receipt page (the QR's URL; the
                                                     signed receipt stays in the #fragment)
GET      /static/{name}                              page scripts and styles (CSP: 'self' only)
GET      /api/v1/trust                               the effective trust list, paged (public)
GET      /api/v1/trust/keys/{kid}                    the entries of one key id (public)
POST     /api/v1/receipts/status                     status of the dossier of a *valid* signed
                                                     receipt (rate limited per client IP)
GET      /api/v1/province/communes                   per-commune figures, ranked, paged (staff)
GET      /api/v1/province/communes/{commune}/bieu06  one commune's Biểu 06 (staff)
GET      /api/v1/openapi.json                        this API, documented
GET/POST /province/login, POST /province/logout      staff session (signed cookie)
GET      /province, /province/communes/{commune}     the dashboard pages (staff)
=======  ==========================================  ============================================
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Final
from urllib.parse import parse_qs, urlencode, urlsplit

import jinja2
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import APIKeyCookie
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from onestop import __version__
from onestop.domain.clock import vn_now
from onestop.domain.reports import (
    BIEU06_COLUMNS,
    Bieu06,
    Bieu06Counts,
    Period,
    PeriodKind,
    ReportError,
    period,
)
from onestop.i18n import t
from onestop.paths import asset_path
from onestop.server import repo
from onestop.server.db import ServerDB
from onestop.server.errors import ApiError
from onestop.server.web import lookup, province, staff
from onestop.server.web.headers import SecurityHeaders
from onestop.server.web.middleware import BodyLimit, WebGZip
from onestop.server.web.ratelimit import RateLimiter
from onestop.server.web.schemas import (
    Bieu06CountsOut,
    Bieu06Out,
    Bieu06RowOut,
    CommuneOut,
    CommunePageOut,
    ErrorOut,
    PeriodOut,
    ReceiptQuery,
    ReceiptStatusOut,
    TrustEntryOut,
    TrustKeysOut,
    TrustPageOut,
)
from onestop.wire.base import now_epoch

__all__ = ["STALE_DAYS_ENV", "WebContext", "mount"]

STALE_DAYS_ENV: Final = "ONESTOP_STALE_DAYS"
DEFAULT_STALE_DAYS: Final = 7
#: Receipt lookups per client IP: a burst of 10, then one every 6 s (10 a minute).
LOOKUP_RATE: Final = (1 / 6, 10)
#: Login attempts per client IP: a burst of 10, then one every 10 s.
LOGIN_RATE: Final = (1 / 10, 10)
_KID_RE: Final = re.compile(r"^[0-9a-fA-F]{16}$")
_COMMUNE_RE: Final = re.compile(r"^[0-9]{5}$")
_MIN_YEAR, _MAX_YEAR = 2000, 2099
_API: Final = "/api/v1"

cookie_scheme = APIKeyCookie(
    name=staff.COOKIE_NAME,
    auto_error=False,
    description="Session cookie set by `POST /province/login` (HttpOnly, SameSite=Strict).",
)


def stale_days_from_env() -> int:
    raw = os.environ.get(STALE_DAYS_ENV, "").strip()
    if not raw:
        return DEFAULT_STALE_DAYS
    if not raw.isdigit() or not 1 <= int(raw) <= 365:
        raise ValueError(
            t("{var} phải là số ngày từ 1 đến 365 (đang là «{v}»).", var=STALE_DAYS_ENV, v=raw)
        )
    return int(raw)


@dataclass
class StaticFile:
    body: bytes
    media_type: str
    etag: str


def _load_static() -> dict[str, StaticFile]:
    kinds = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}
    out: dict[str, StaticFile] = {}
    folder = asset_path("web", "static")
    for path in sorted(folder.iterdir()):
        if path.suffix in kinds and path.is_file():
            body = path.read_bytes()
            tag = hashlib.sha256(body).hexdigest()[:12]
            out[path.name] = StaticFile(body, f"{kinds[path.suffix]}; charset=utf-8", tag)
    return out


class WebContext:
    def __init__(self, db: ServerDB, *, stale_days: int | None = None) -> None:
        self.db = db
        self.session_key = staff.session_key(db)
        self.stale_days = stale_days if stale_days is not None else stale_days_from_env()
        self.lookup_limiter = RateLimiter(rate=LOOKUP_RATE[0], burst=LOOKUP_RATE[1])
        self.login_limiter = RateLimiter(rate=LOGIN_RATE[0], burst=LOGIN_RATE[1])
        self.static = _load_static()
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(asset_path("web", "templates"))),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.templates.globals.update(t=t, static=self.static_url, fmt_pct=_pct)

    def static_url(self, name: str) -> str:
        """``/static/name?v=<hash>``: the hash lets browsers keep the file for a year."""
        return f"/static/{name}?v={self.static[name].etag}"

    def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        html = self.templates.get_template(template).render(**values)
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


# ----------------------------------------------------------------------------- helpers


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %".replace(".", ",")


def client_ip(request: Request) -> str:
    # uvicorn resolves X-Forwarded-For from trusted proxies (--forwarded-allow-ips) into
    # request.client, so this is the citizen's address behind the province's reverse proxy.
    return request.client.host if request.client else "unknown"


def _check_origin(request: Request) -> None:
    """Refuse cross-site form posts (a second line behind the SameSite=Strict cookie)."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
        raise ApiError(403, "bad_origin", t("Yêu cầu đến từ trang khác; đã từ chối."))


async def _login_form(request: Request) -> tuple[str, str]:
    """(username, password) of the urlencoded login form (no multipart parser needed)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise ApiError(415, "bad_form", t("Biểu mẫu đăng nhập không đúng định dạng."))
    try:
        fields = parse_qs(
            (await request.body()).decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=10,
        )
    except (UnicodeDecodeError, ValueError) as e:
        raise ApiError(400, "bad_form", t("Biểu mẫu đăng nhập không đúng định dạng.")) from e
    username = (fields.get("username") or [""])[0][:200]
    password = (fields.get("password") or [""])[0]
    return username, password


def make_period(start: date | None, end: date | None, today: date) -> Period:
    if start is None and end is None:
        first, last = period(PeriodKind.MONTH, today.year, today.month)
        return Period(first, last)
    if start is None or end is None:
        raise ApiError(400, "bad_period", t("Cần cả ngày đầu kỳ (from) và ngày cuối kỳ (to)."))
    for d in (start, end):
        if not _MIN_YEAR <= d.year <= _MAX_YEAR:
            raise ApiError(400, "bad_period", t("Ngày báo cáo phải trong các năm 2000–2099."))
    try:
        return Period(start, end)
    except ReportError as e:
        raise ApiError(400, "bad_period", str(e)) from e


def _parse_day(text: str | None) -> date | None:
    if text is None or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError as e:
        raise ApiError(
            400, "bad_period", t("Ngày phải có dạng YYYY-MM-DD, ví dụ 2026-03-31.")
        ) from e


def _clean_field(field: str | None) -> str | None:
    return field.strip() if field and field.strip() else None


def _counts_out(c: Bieu06Counts) -> Bieu06CountsOut:
    return Bieu06CountsOut(**c.as_dict())


def _period_out(p: Period) -> PeriodOut:
    return PeriodOut.model_validate({"from": p.start.isoformat(), "to": p.end.isoformat()})


def _commune_out(s: province.CommuneStats) -> CommuneOut:
    c = s.bieu06.total
    last = province.epoch_local(s.last_sync)
    return CommuneOut(
        rank=s.rank,
        commune=s.commune,
        name=s.name,
        desks=s.desks,
        received=c.received,
        online=c.online,
        direct=c.direct,
        carried=c.carried,
        resolved=c.resolved,
        early=c.early,
        on_time=c.on_time,
        late=c.late,
        pending=c.pending,
        overdue=c.overdue,
        on_time_rate=None if s.on_time_rate is None else round(s.on_time_rate, 4),
        online_share=None if s.online_share is None else round(s.online_share, 4),
        satisfaction=None if s.satisfaction is None else round(s.satisfaction, 4),
        evaluations=s.evaluations.total.count,
        last_sync=None if last is None else last.isoformat(timespec="minutes"),
        stale=s.stale,
        events_pending=s.events_pending,
    )


def _bieu06_out(commune: str, name: str, b: Bieu06, field: str | None) -> Bieu06Out:
    return Bieu06Out(
        commune=commune,
        name=name,
        period=_period_out(b.period),
        field=field,
        rows=[Bieu06RowOut(field=r.field, counts=_counts_out(r.counts)) for r in b.rows],
        total=_counts_out(b.total),
    )


def _trust_or_503(web: WebContext) -> Any:
    with web.db.read() as conn:
        tl = lookup.effective_trust(conn)
    if tl is None:
        raise ApiError(
            503, "no_trust_list", t("Tỉnh chưa phát hành danh sách tin cậy; chưa kiểm tra được.")
        )
    return tl


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Bad input"},
}
_STAFF_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    401: {"model": ErrorOut, "description": "Not logged in (session cookie missing or expired)"},
}


def current_staff(
    request: Request, cookie: Annotated[str | None, Depends(cookie_scheme)] = None
) -> staff.Staff:
    """The logged-in staff member (dependency of every staff endpoint), else 401."""
    web: WebContext = request.app.state.web
    who = staff.read_session(web.db, web.session_key, cookie)
    if who is None:
        raise ApiError(401, "unauthenticated", t("Cần đăng nhập tài khoản cán bộ tỉnh."))
    return who


# ----------------------------------------------------------------------------- the router


def build_router(web: WebContext) -> APIRouter:
    router = APIRouter()

    # ---- citizen ----------------------------------------------------------------------

    @router.get("/r1", include_in_schema=False)
    async def receipt_page() -> Response:
        page = web.static["r1.html"]
        html = page.body.decode()
        for name in ("r1.css", "r1.js"):
            html = html.replace(f'"/static/{name}"', f'"{web.static_url(name)}"')
        # The page is the same for every receipt; the receipt never reaches the server.
        return HTMLResponse(html, headers={"Cache-Control": "public, max-age=3600"})

    @router.get("/static/{name}", include_in_schema=False)
    async def static_file(request: Request, name: str) -> Response:
        item = web.static.get(name)
        if item is None or name.endswith(".html"):
            raise ApiError(404, "not_found", t("Không có tệp này."))
        etag = f'"{item.etag}"'
        cache = {"ETag": etag, "Cache-Control": "public, max-age=31536000, immutable"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=cache)
        return Response(item.body, media_type=item.media_type, headers=cache)

    @router.get(
        f"{_API}/trust",
        response_model=TrustPageOut,
        responses={**_ERRORS, 503: {"model": ErrorOut, "description": "No trust list yet"}},
        tags=["citizen"],
        summary="The province trust list (with server revocations), paged",
    )
    async def trust_list(
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        per_page: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> TrustPageOut:
        tl = await run_in_threadpool(_trust_or_503, web)
        entries = list(tl.entries)
        chunk = entries[(page - 1) * per_page : page * per_page]
        return TrustPageOut(
            **lookup.trust_meta(tl),
            page=page,
            per_page=per_page,
            total=len(entries),
            items=[TrustEntryOut(**lookup.entry_json(tl, e)) for e in chunk],
        )

    @router.get(
        f"{_API}/trust/keys/{{kid}}",
        response_model=TrustKeysOut,
        responses={**_ERRORS, 503: {"model": ErrorOut, "description": "No trust list yet"}},
        tags=["citizen"],
        summary="Trust-list entries of one key id (what the receipt page needs)",
    )
    async def trust_keys(
        kid: Annotated[str, Path(description="16 hex digits", min_length=1, max_length=64)],
    ) -> JSONResponse:
        if not _KID_RE.match(kid):
            raise ApiError(400, "bad_kid", t("Mã khóa phải gồm 16 chữ số hệ 16."))
        tl = await run_in_threadpool(_trust_or_503, web)
        items = [lookup.entry_json(tl, e) for e in tl.entries_for(bytes.fromhex(kid))]
        body = TrustKeysOut(**lookup.trust_meta(tl), items=[TrustEntryOut(**i) for i in items])
        # Short cache: a revocation must reach the page within minutes.
        return JSONResponse(body.model_dump(), headers={"Cache-Control": "public, max-age=300"})

    @router.post(
        f"{_API}/receipts/status",
        response_model=ReceiptStatusOut,
        responses={
            **_ERRORS,
            413: {"model": ErrorOut, "description": "Body too large"},
            422: {"model": ErrorOut, "description": "The receipt does not verify"},
            429: {"model": ErrorOut, "description": "Too many lookups from this address"},
            503: {"model": ErrorOut, "description": "No trust list yet"},
        },
        tags=["citizen"],
        summary="Status of the dossier of a signed receipt",
        description="Only a receipt that verifies against the trust list is answered, so "
        "dossier codes cannot be enumerated. The answer never holds the ID number, phone or "
        "address. Rate limited per client IP (per worker process).",
    )
    async def receipt_status(request: Request, query: ReceiptQuery) -> ReceiptStatusOut:
        wait = web.lookup_limiter.take(client_ip(request))
        if wait > 0:
            raise ApiError(
                429,
                "rate_limited",
                t("Tra cứu quá nhiều lần; xin thử lại sau ít phút."),
                headers={"Retry-After": web.lookup_limiter.retry_after(wait)},
            )

        def run() -> dict[str, Any]:
            with web.db.read() as conn:
                return lookup.lookup_status(conn, query.receipt)

        try:
            answer = await run_in_threadpool(run)
        except lookup.LookupRefused as e:
            extra = {"verdict": e.verdict} if e.verdict else None
            raise ApiError(e.status, e.code, e.message, extra=extra) from e
        return ReceiptStatusOut(**answer)

    # ---- province staff (JSON) ---------------------------------------------------------

    @router.get(
        f"{_API}/province/communes",
        response_model=CommunePageOut,
        responses=_STAFF_ERRORS,
        tags=["province"],
        summary="Per-commune figures for a period, ranked by on-time rate",
    )
    async def communes_api(
        who: Annotated[staff.Staff, Depends(current_staff)],
        start: Annotated[date | None, Query(alias="from")] = None,
        end: Annotated[date | None, Query(alias="to")] = None,
        field: Annotated[str | None, Query(max_length=200)] = None,
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        per_page: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> CommunePageOut:
        now = vn_now()
        p = make_period(start, end, now.date())
        fld = _clean_field(field)
        stats = await run_in_threadpool(_overview, web, p, fld, now)
        chunk = stats[(page - 1) * per_page : page * per_page]
        return CommunePageOut(
            period=_period_out(p),
            field=fld,
            stale_days=web.stale_days,
            page=page,
            per_page=per_page,
            total=len(stats),
            items=[_commune_out(s) for s in chunk],
        )

    @router.get(
        f"{_API}/province/communes/{{commune}}/bieu06",
        response_model=Bieu06Out,
        responses={**_STAFF_ERRORS, 404: {"model": ErrorOut, "description": "Unknown commune"}},
        tags=["province"],
        summary="Biểu 06/VPCP/KSTT of one commune (equals `onestop report bieu06` on its desk)",
    )
    async def bieu06_api(
        who: Annotated[staff.Staff, Depends(current_staff)],
        commune: Annotated[str, Path(min_length=1, max_length=16)],
        start: Annotated[date | None, Query(alias="from")] = None,
        end: Annotated[date | None, Query(alias="to")] = None,
        field: Annotated[str | None, Query(max_length=200)] = None,
    ) -> Bieu06Out:
        now = vn_now()
        p = make_period(start, end, now.date())
        fld = _clean_field(field)
        name, b = await run_in_threadpool(_commune_report, web, commune, p, fld, now)
        return _bieu06_out(commune, name, b, fld)

    # ---- province staff (pages) --------------------------------------------------------

    @router.get("/province/login", include_in_schema=False)
    async def login_page(
        cookie: Annotated[str | None, Depends(cookie_scheme)] = None,
    ) -> Response:
        if staff.read_session(web.db, web.session_key, cookie) is not None:
            return RedirectResponse("/province", status_code=303)
        return web.render("login.html", who=None, error=None, username="")

    @router.post("/province/login", include_in_schema=False)
    async def login_submit(request: Request) -> Response:
        _check_origin(request)
        username, password = await _login_form(request)
        wait = web.login_limiter.take(client_ip(request))
        if wait > 0:
            return web.render(
                "login.html",
                status=429,
                who=None,
                error=t("Đăng nhập quá nhiều lần; xin thử lại sau ít phút."),
                username=username,
            )
        try:
            who = await run_in_threadpool(staff.login, web.db, username, password)
        except staff.LoginRefused as e:
            return web.render(
                "login.html",
                status=423 if e.locked else 401,
                who=None,
                error=str(e),
                username=username,
            )
        response = RedirectResponse("/province", status_code=303)
        response.set_cookie(
            staff.COOKIE_NAME,
            staff.make_session(web.session_key, who),
            max_age=staff.SESSION_SECONDS,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @router.post("/province/logout", include_in_schema=False)
    async def logout(
        request: Request, cookie: Annotated[str | None, Depends(cookie_scheme)] = None
    ) -> Response:
        _check_origin(request)
        who = staff.read_session(web.db, web.session_key, cookie)
        if who is not None:
            await run_in_threadpool(staff.logout, web.db, who.username)
        response = RedirectResponse("/province/login", status_code=303)
        response.delete_cookie(staff.COOKIE_NAME, path="/", httponly=True, samesite="strict")
        return response

    @router.get("/province", include_in_schema=False)
    async def dashboard(
        cookie: Annotated[str | None, Depends(cookie_scheme)] = None,
        start: Annotated[str | None, Query(alias="from", max_length=20)] = None,
        end: Annotated[str | None, Query(alias="to", max_length=20)] = None,
        field: Annotated[str | None, Query(max_length=200)] = None,
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    ) -> Response:
        who = staff.read_session(web.db, web.session_key, cookie)
        if who is None:
            return RedirectResponse("/province/login", status_code=303)
        now = vn_now()
        per_page = 50
        try:
            p = make_period(_parse_day(start), _parse_day(end), now.date())
        except ApiError as e:
            return web.render("error.html", status=400, who=who, message=e.message)
        fld = _clean_field(field)
        stats, fields = await run_in_threadpool(_overview_and_fields, web, p, fld, now)
        total = len(stats)
        pages = max(1, (total + per_page - 1) // per_page)
        rows = stats[(page - 1) * per_page : page * per_page]
        query = {"from": p.start.isoformat(), "to": p.end.isoformat()}
        if fld:
            query["field"] = fld
        return web.render(
            "dashboard.html",
            who=who,
            p=p,
            field=fld,
            fields=fields,
            rows=[(s, _commune_out(s)) for s in rows],
            page=page,
            pages=pages,
            total=total,
            stale_days=web.stale_days,
            query=urlencode(query),
            quick=_quick_periods(now.date()),
            now=now,
            stale_count=sum(1 for s in stats if s.stale),
        )

    @router.get("/province/communes/{commune}", include_in_schema=False)
    async def commune_page(
        commune: str,
        cookie: Annotated[str | None, Depends(cookie_scheme)] = None,
        start: Annotated[str | None, Query(alias="from", max_length=20)] = None,
        end: Annotated[str | None, Query(alias="to", max_length=20)] = None,
        field: Annotated[str | None, Query(max_length=200)] = None,
    ) -> Response:
        who = staff.read_session(web.db, web.session_key, cookie)
        if who is None:
            return RedirectResponse("/province/login", status_code=303)
        now = vn_now()
        try:
            p = make_period(_parse_day(start), _parse_day(end), now.date())
            fld = _clean_field(field)
            name, b = await run_in_threadpool(_commune_report, web, commune, p, fld, now)
        except ApiError as e:
            return web.render("error.html", status=e.status, who=who, message=e.message)
        query = {"from": p.start.isoformat(), "to": p.end.isoformat()}
        if fld:
            query["field"] = fld
        return web.render(
            "commune.html",
            who=who,
            commune=commune,
            name=name,
            p=p,
            field=fld,
            b=b,
            columns=BIEU06_COLUMNS,
            query=urlencode(query),
            now=now,
        )

    return router


def _quick_periods(today: date) -> list[tuple[str, str]]:
    """(label, query) of this month, this quarter, this year, last month."""
    out: list[tuple[str, str]] = []
    q = (today.month - 1) // 3 + 1
    prev = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    for label, kind, year, n in (
        (t("Tháng này"), PeriodKind.MONTH, today.year, today.month),
        (t("Tháng trước"), PeriodKind.MONTH, prev[0], prev[1]),
        (t("Quý này"), PeriodKind.QUARTER, today.year, q),
        (t("Năm nay"), PeriodKind.YEAR, today.year, 1),
    ):
        first, last = period(kind, year, n)
        out.append((label, urlencode({"from": first.isoformat(), "to": last.isoformat()})))
    return out


def _overview(
    web: WebContext, p: Period, field: str | None, now: datetime
) -> list[province.CommuneStats]:
    with web.db.read() as conn:
        try:
            return province.province_overview(
                conn,
                p,
                field_name=field,
                today=now.date(),
                now=now_epoch(),
                stale_days=web.stale_days,
            )
        except ReportError as e:
            raise ApiError(409, "report_error", str(e)) from e


def _overview_and_fields(
    web: WebContext, p: Period, field: str | None, now: datetime
) -> tuple[list[province.CommuneStats], list[str]]:
    stats = _overview(web, p, field, now)
    with web.db.read() as conn:
        fields = province.field_names(conn, {f for s in stats for f in s.fields})
    return stats, fields


def _commune_report(
    web: WebContext, commune: str, p: Period, field: str | None, now: datetime
) -> tuple[str, Bieu06]:
    if not _COMMUNE_RE.match(commune):
        raise ApiError(400, "bad_commune", t("Mã xã phải gồm đúng 5 chữ số, ví dụ 16279."))
    with web.db.read() as conn:
        known = (
            conn.execute(
                select(func.count()).select_from(repo.DESK).where(repo.DESK.c.commune == commune)
            ).scalar_one()
            or conn.execute(
                select(func.count())
                .select_from(repo.DOSSIER)
                .where(repo.DOSSIER.c.commune == commune)
            ).scalar_one()
        )
        if not known:
            raise ApiError(404, "unknown_commune", t("Không có xã {c} trên máy chủ.", c=commune))
        try:
            b = province.commune_bieu06(conn, commune, p, field_name=field, today=now.date())
        except ReportError as e:
            raise ApiError(409, "report_error", str(e)) from e
        name = province.commune_names(conn).get(commune, "")
    return name, b


# ----------------------------------------------------------------------------- mounting


def mount(app: FastAPI, db: ServerDB, *, stale_days: int | None = None) -> WebContext:
    """Add the web pages, their API, the OpenAPI document and the middleware to ``app``."""
    web = WebContext(db, stale_days=stale_days)
    router = build_router(web)
    app.include_router(router)
    app.state.web = web

    schema: dict[str, Any] = {}

    @app.get(f"{_API}/openapi.json", include_in_schema=False)
    async def openapi() -> JSONResponse:
        if not schema:
            schema.update(
                get_openapi(
                    title="onestop provincial web API",
                    version=__version__,
                    description="JSON API behind the citizen receipt page and the province "
                    "dashboard. The desk sync protocol (`/sync/v1`, signed CBOR) is "
                    "documented in the README, not here.",
                    routes=router.routes,
                )
            )
        return JSONResponse(schema)

    # Outermost last: security headers wrap everything, including 413s and gzip output.
    app.add_middleware(WebGZip)
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)
    return web
