"""The provincial server's HTTP API (FastAPI). Stateless: everything lives in the database.

``create_app(database_url)`` migrates the schema, seeds reference data, loads the signing key
and returns the app; ``app_from_env`` is the uvicorn factory used by ``onestop serve`` (the
URL comes from ``ONESTOP_SERVER_DATABASE_URL``), so any number of worker processes can run it.

Endpoints (all under /sync/v1; errors are JSON ``{"error", "message", ...}``, always 4xx for
bad input):

=======  ================  ====================================================================
POST     /enroll           JSON {alg, public_key, request}: register a desk key with a one-time
                           code. → JSON {desk_id, desk_no, commune, server{alg, public_key},
                           trust_list, server_time}
POST     /batches          a signed batch (see services/_wire.py), Content-Encoding zstd|gzip|
                           identity, Idempotency-Key <desk>:<first>-<last>. → 200 signed ack
                           (protocol 2+: with the commune's news, key 6, feed.ack_with_news);
                           replay → the stored ack; 409 gap {acked_seq, state}; 415; 422.
GET      /state            (signed request) → signed ack of the desk's current acked state.
GET      /events           ?commune=&after=desk:seq,... (signed request) → signed feed of the
                           other desks' events.
GET      /reference        ?cursor=N, ETag/If-None-Match → signed reference items or 304.
GET      /digest           (signed request) → {dossiers, events, digest} of the commune.
GET      /health           → {service, version, kid}
POST     /chunks/missing   (signed request) CBOR [id32...] ≤ 1024 → CBOR [id32...] the server lacks
PUT      /chunks/{id}      (signed request) the chunk's bytes → 201 stored | 200 already held
POST     /files/commit     (signed request) CBOR {1 desk, 2 seq, 3 sha256} → 200 signed
                           onestop-file/1 | 409 {missing, missing_count} | 404 event not here
=======  ================  ====================================================================

The files lane (wire/chunks.py, server/files.py) and, for province staff (session cookie),
``GET /api/v1/province/dossiers/{code}/files`` and ``…/files/{id}`` (the reassembled PDF).
"""

from __future__ import annotations

import gzip
import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from onestop import __version__
from onestop.crypto.signer import Signer
from onestop.server import files, repo
from onestop.server.db import ServerDB, default_database_url, migrate
from onestop.server.enroll import SAFE, check_auth_time, enroll
from onestop.server.errors import ApiError
from onestop.server.feed import MAX_FEED_EVENTS, ack_with_news, build_feed, parse_after
from onestop.server.ingest import (
    desk_keys,
    ingest_batch,
    parse_encoding,
    require_active,
    signed_state,
)
from onestop.server.keys import server_signer
from onestop.server.protocol import ProtocolGate
from onestop.server.reference import changed_since, seed
from onestop.server.replace import mount as mount_replacement
from onestop.server.web import files_page
from onestop.server.web import mount as mount_web
from onestop.server.web.ratelimit import RateLimiter
from onestop.server.web.routes import current_staff
from onestop.server.web.staff import Staff
from onestop.wire import version
from onestop.wire.base import API, CBOR_MEDIA, MAX_WIRE_BYTES, WireError, b64e, now_epoch
from onestop.wire.chunks import (
    CHUNK_PATH,
    COMMIT_PATH,
    MAX_CHUNK_BODY,
    MAX_QUERY_BODY,
    MISSING_PATH,
    CommitRequest,
    body_digest,
    check_chunk,
    decode_ids,
    encode_ids,
)
from onestop.wire.codec import dictionaries
from onestop.wire.messages import REF_CT, REVOKED_CT, parse_auth, sign, verify_message
from onestop.wire.state import digest

log = logging.getLogger("onestop.server")
DATABASE_URL_ENV = "ONESTOP_SERVER_DATABASE_URL"
_MAX_JSON = 64 * 1024

DossierCode = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
FileId = Annotated[str, Path(min_length=6, max_length=64, pattern=r"^[0-9a-f]+$")]

#: Failed enrollment attempts per client address: 10 at once, then one every 30 s.
ENROLL_FAILURE_RATE = (1 / 30, 10)


class ServerContext:
    def __init__(self, db: ServerDB, signer: Signer) -> None:
        self.db = db
        self.signer = signer


def _cbor(data: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(content=data, status_code=status, media_type=CBOR_MEDIA, headers=headers)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ApiError(400, "bad_request", "Content-Length không hợp lệ.")
        if int(declared) > limit:
            raise ApiError(413, "too_large", "Nội dung yêu cầu quá lớn.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "too_large", "Nội dung yêu cầu quá lớn.")
        chunks.append(chunk)
    return b"".join(chunks)


def _signed_target(request: Request) -> str:
    """What a desk signs for a GET: method, path, and the query parameters sorted."""
    query = "&".join(f"{k}={v}" for k, v in sorted(request.query_params.multi_items()))
    return f"{request.method} {request.url.path}" + (f"?{query}" if query else "")


def _authenticate(ctx: ServerContext, request: Request) -> Any:
    """The enrolled, active desk that signed this request (401/403 otherwise).

    The signed time must be within ±AUTH_WINDOW_S of the server's clock (``stale_auth``
    otherwise, with a signed server time the desk corrects its offset from, see
    services/_wire.py); a request that changes state is accepted once only.
    """
    header = request.headers.get("authorization")
    try:
        msg, desk_id, target, when = parse_auth(header)
    except WireError as e:
        raise ApiError(401, "unauthenticated", str(e)) from e
    assert header is not None
    with ctx.db.read() as conn:
        desk = repo.get_desk(conn=conn, desk_id=desk_id)
    require_active(desk, desk_id)
    try:
        verify_message(msg, desk_keys(desk))
    except WireError as e:
        raise ApiError(401, "bad_signature", f"Chữ ký yêu cầu không hợp lệ: {e}") from e
    if target != _signed_target(request):
        raise ApiError(401, "bad_signature", "Chữ ký yêu cầu không khớp địa chỉ yêu cầu.")
    check_auth_time(ctx.db, ctx.signer, desk_id, when, header, once=request.method not in SAFE)
    return desk


def _int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        raise ApiError(400, "bad_request", f"Tham số {name} phải là số nguyên từ {lo} đến {hi}.")
    return int(raw)


def revocation_proof(signer: Signer, desk_id: str, revoked_at: Any) -> str:
    """A server-signed statement that ``desk_id`` is revoked (services/lockdown.py reads it)."""
    at = int(revoked_at) if isinstance(revoked_at, int) else None
    return b64e(sign(signer, REVOKED_CT, {1: desk_id, 2: at, 3: now_epoch()}))


def create_app(database_url: str | None = None) -> FastAPI:
    db = ServerDB(database_url or os.environ.get(DATABASE_URL_ENV) or default_database_url())
    migrate(db)
    seed(db)
    signer = server_signer(db)
    ctx = ServerContext(db, signer)
    chunk_store: files.ChunkStore = files.open_store(db, signer)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        db.close()

    app = FastAPI(
        title="onestop provincial server",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.ctx = ctx

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        body = exc.body()
        if exc.code == "revoked" and isinstance(exc.extra.get("desk"), str):
            body["proof"] = revocation_proof(ctx.signer, exc.extra["desk"], exc.extra["revoked_at"])
        return JSONResponse(body, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"error": "bad_request", "message": "Yêu cầu không hợp lệ.", "detail": str(exc)[:500]},
            status_code=400,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": "http_error", "message": str(exc.detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(ClientDisconnect)
    async def _gone(_request: Request, _exc: ClientDisconnect) -> Response:
        # The client left mid-body, or the body timeout closed it (server/run.py): nobody
        # reads this answer, and a slow client is not a server error worth a traceback.
        return Response(status_code=408)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return JSONResponse(
            {"error": "internal", "message": "Lỗi máy chủ; yêu cầu chưa được ghi nhận."},
            status_code=500,
        )

    @app.get(f"{API}/health")
    async def health() -> dict[str, Any]:
        return {
            "service": "onestop-server",
            "version": __version__,
            "kid": ctx.signer.kid.hex(),
            "database": db.dialect,
            "dict_ids": sorted(dictionaries()),
            "protocol": version.PROTOCOL,
        }

    enroll_failures = RateLimiter(rate=ENROLL_FAILURE_RATE[0], burst=ENROLL_FAILURE_RATE[1])

    @app.post(f"{API}/enroll")
    async def post_enroll(request: Request) -> JSONResponse:
        raw = await _read_body(request, _MAX_JSON)
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as e:
            raise ApiError(400, "bad_request", "Yêu cầu đăng ký phải là JSON.") from e
        # A wrong code costs a token; an address out of tokens waits (codes cannot be guessed
        # at speed, and a desk with the right code is never slowed by the limit).
        ip = request.client.host if request.client else "unknown"
        wait = enroll_failures.wait(ip)
        if wait > 0:
            raise ApiError(
                429,
                "too_many_attempts",
                "Nhập sai mã đăng ký quá nhiều lần. Hãy thử lại sau ít phút.",
                headers={"Retry-After": enroll_failures.retry_after(wait)},
            )
        try:
            answer = await run_in_threadpool(enroll, db, ctx.signer, body)
        except ApiError:
            enroll_failures.take(ip)
            raise
        return JSONResponse(answer)

    @app.post(f"{API}/batches")
    async def post_batch(request: Request) -> Response:
        encoding = parse_encoding(request.headers.get("content-encoding"))
        body = await _read_body(request, MAX_WIRE_BYTES)
        result = await run_in_threadpool(
            lambda: ingest_batch(
                db,
                ctx.signer,
                body=body,
                encoding=encoding,
                idempotency_key=request.headers.get("idempotency-key"),
            )
        )
        headers = {"Idempotent-Replayed": "true"} if result.replay else None
        ack = result.ack
        # Protocol 2+: the fresh ack also says whether the feed or reference data hold anything
        # new for this desk (server/feed.py ack_with_news). The gate already checked the header.
        desk_protocol = version.parse(request.headers.get(version.HEADER))
        if not result.replay and (desk_protocol or 1) >= version.ACK_NEWS_SINCE:
            ack = await run_in_threadpool(ack_with_news, db, ctx.signer, result.ack)
        return _cbor(ack, headers=headers)

    @app.get(f"{API}/state")
    async def get_state(request: Request) -> Response:
        desk = await run_in_threadpool(_authenticate, ctx, request)
        return _cbor(signed_state(ctx.signer, desk, now_epoch()))

    @app.get(f"{API}/events")
    async def get_events(request: Request) -> Response:
        desk = await run_in_threadpool(_authenticate, ctx, request)
        commune = request.query_params.get("commune") or str(desk["commune"])
        after = parse_after(request.query_params.get("after"))
        limit = _int_param(request, "limit", MAX_FEED_EVENTS, 1, MAX_FEED_EVENTS)
        body = await run_in_threadpool(
            lambda: build_feed(
                db,
                ctx.signer,
                requester=desk,
                commune=commune,
                after=after,
                limit=limit,
            )
        )
        return _cbor(body)

    @app.get(f"{API}/reference")
    async def get_reference(request: Request) -> Response:
        cursor = _int_param(request, "cursor", 0, 0, 2**62)

        def load() -> tuple[int, dict[str, Any]]:
            with db.read() as conn:
                return changed_since(conn=conn, cursor=cursor)

        version, items = await run_in_threadpool(load)
        etag = f'"ref-{version}"'
        if request.headers.get("if-none-match") == etag or (cursor == version and not items):
            return Response(status_code=304, headers={"ETag": etag})
        payload = {1: version, 2: items, 3: now_epoch(), 4: sorted(dictionaries())}
        data = await run_in_threadpool(sign, ctx.signer, REF_CT, payload)
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if "gzip" in request.headers.get("accept-encoding", "") and len(data) > 1024:
            data = gzip.compress(data, mtime=0)
            headers["Content-Encoding"] = "gzip"
        return _cbor(data, headers=headers)

    @app.get(f"{API}/digest")
    async def get_digest(request: Request) -> dict[str, Any]:
        desk = await run_in_threadpool(_authenticate, ctx, request)
        commune = str(desk["commune"])

        def compute() -> dict[str, Any]:
            with db.read() as conn:
                pairs = repo.dossier_states(conn=conn, commune=commune)
                ids = [str(d["desk_id"]) for d in repo.desks_of_commune(conn=conn, commune=commune)]
                events = repo.count_events(conn=conn, desk_ids=ids)
            return {
                "commune": commune,
                "dossiers": len(pairs),
                "events": events,
                "digest": digest(pairs),
            }

        return await run_in_threadpool(compute)

    # ---- the files lane (wire/chunks.py): chunks after the events, never in front

    def _bad(e: WireError) -> ApiError:
        return ApiError(400, "bad_request", str(e))

    def _signed_body(request: Request, body: bytes) -> None:
        # The signed target carries the body's digest: the desk's signature covers the body.
        if request.query_params.get("b") != body_digest(body):
            raise ApiError(401, "bad_signature", "Chữ ký yêu cầu không khớp nội dung yêu cầu.")

    @app.post(MISSING_PATH)
    async def post_missing(request: Request) -> Response:
        await run_in_threadpool(_authenticate, ctx, request)
        body = await _read_body(request, MAX_QUERY_BODY)
        _signed_body(request, body)
        try:
            ids = decode_ids(body)
        except WireError as e:
            raise _bad(e) from e
        lacking = await run_in_threadpool(chunk_store.missing, ids)
        return _cbor(encode_ids(lacking))

    @app.put(CHUNK_PATH + "/{chunk_id}")
    async def put_chunk(request: Request, chunk_id: str) -> Response:
        await run_in_threadpool(_authenticate, ctx, request)
        body = await _read_body(request, MAX_CHUNK_BODY)
        _signed_body(request, body)
        try:
            check_chunk(chunk_id, body)
        except WireError as e:
            raise ApiError(422, "bad_chunk", str(e)) from e
        created = await run_in_threadpool(chunk_store.put, chunk_id, body)
        return Response(status_code=201 if created else 200)

    @app.post(COMMIT_PATH)
    async def post_commit(request: Request) -> Response:
        desk = await run_in_threadpool(_authenticate, ctx, request)
        body = await _read_body(request, MAX_QUERY_BODY)
        _signed_body(request, body)
        try:
            req = CommitRequest.decode(body)
        except WireError as e:
            raise _bad(e) from e
        ack = await run_in_threadpool(
            files.commit, db, chunk_store, signer, str(desk["desk_id"]), req
        )
        return _cbor(ack)

    # ---- a replacement desk brings the commune's history down (server/replace.py)
    mount_replacement(app, db, signer, lambda request: _authenticate(ctx, request))

    # ---- province staff: a dossier's files (the citizen page never shows files)

    @app.get("/api/v1/province/dossiers/{code}/files", include_in_schema=False)
    async def staff_files(
        _who: Annotated[Staff, Depends(current_staff)], code: DossierCode
    ) -> JSONResponse:
        found = await run_in_threadpool(files.dossier_files, db, code)
        return JSONResponse(
            {"dossier": code, "files": [files.as_json(a, ok) for a, ok in found]},
            headers={"Cache-Control": "no-store"},
        )

    @app.get("/api/v1/province/dossiers/{code}/files/{file_id}", include_in_schema=False)
    async def staff_file(
        _who: Annotated[Staff, Depends(current_staff)],
        code: DossierCode,
        file_id: FileId,
    ) -> StreamingResponse:
        a = await run_in_threadpool(files.find_file, db, code, file_id)
        if a is None:
            raise ApiError(404, "not_found", "Máy chủ chưa có tệp này của hồ sơ.")
        ids = await run_in_threadpool(files.chunk_ids, chunk_store, a)
        name = f"{code}-{a.component}-{a.id}.pdf"
        return StreamingResponse(
            files.stream_file(chunk_store, ids),
            media_type=a.mime,
            headers={
                "Content-Length": str(a.size),
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
            },
        )

    # The citizen receipt page, the province dashboard and their JSON API (server/web/),
    # plus security headers, gzip and body limits on every web response.
    web = mount_web(app, db)
    # A dossier's digitised papers for province staff (a page of its own: server/web/files_page.py).
    files_page.mount(app, web, chunk_store)
    # Outermost: a desk of an incompatible protocol is refused before anything else runs.
    app.add_middleware(ProtocolGate)
    return app


def app_from_env() -> FastAPI:
    """uvicorn factory (``onestop serve`` passes the URL in ONESTOP_SERVER_DATABASE_URL)."""
    return create_app(os.environ.get(DATABASE_URL_ENV) or default_database_url())
