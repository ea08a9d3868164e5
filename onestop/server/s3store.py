"""The chunk store on S3-compatible object storage (``ONESTOP_SERVER_CHUNK_STORE=s3``).

Same seam and same bytes as the filesystem store (``server/files.py``): each object is a chunk
sealed with AES-256-GCM under the server's chunk key, its associated data binding it to its
id, so a copied or leaked bucket reveals no page and objects cannot be swapped. The object key
is ``<prefix><first two hex of the id>/<id>``; ``has`` is a HEAD, ``put`` a PUT (atomic on
S3: a reader sees the whole object or none, and two workers putting the same chunk write the
same plaintext), ``get`` a GET checked against the id. Any number of stateless workers share
the bucket.

Settings (environment, like the server's other settings; each bounded and checked before
``onestop serve`` starts a worker):

=================================  ==============================================================
``ONESTOP_SERVER_S3_BUCKET``       bucket name (required; 3–63 of a–z 0–9 . -)
``ONESTOP_SERVER_S3_ENDPOINT``     ``https://…`` or ``http://…`` of a non-AWS store (MinIO,
                                   Ceph, Garage, a cloud's S3 API); empty: AWS
``ONESTOP_SERVER_S3_REGION``       region (default ``us-east-1``)
``ONESTOP_SERVER_S3_PREFIX``       key prefix (default ``chunks/``; letters, digits, ``/_.-``)
``ONESTOP_SERVER_S3_TIMEOUT``      seconds to connect and to read (1–120, default 10)
=================================  ==============================================================

Credentials come from boto3's own chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, a
profile, an instance role): never from onestop's settings, never logged. boto3 is imported
only here, and this module only when the store is selected, so the default server does not
load it (``pip install 'onestop[s3]'``).

A store that cannot be reached, or refuses our credentials, answers 503 with a Vietnamese
message: the desk's files lane retries later (a cut costs at most the chunk in flight).
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from onestop.domain.attachments import is_chunk_id, missing_chunks
from onestop.server.errors import ApiError
from onestop.server.files import (
    ChunkStoreError,
    StoreConfigError,
    seal_chunk,
    unseal_chunk,
)

__all__ = ["S3ChunkStore", "S3Config", "config_from_env"]

BUCKET_ENV: Final = "ONESTOP_SERVER_S3_BUCKET"
ENDPOINT_ENV: Final = "ONESTOP_SERVER_S3_ENDPOINT"
REGION_ENV: Final = "ONESTOP_SERVER_S3_REGION"
PREFIX_ENV: Final = "ONESTOP_SERVER_S3_PREFIX"
TIMEOUT_ENV: Final = "ONESTOP_SERVER_S3_TIMEOUT"

_BUCKET_RE: Final = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_REGION_RE: Final = re.compile(r"^[a-z0-9\-]{1,32}$")
_PREFIX_RE: Final = re.compile(r"^[A-Za-z0-9/_.\-]{0,200}$")
_NOT_FOUND: Final = frozenset({"404", "NoSuchKey", "NotFound"})
_PARALLEL: Final = 8


@dataclass(frozen=True)
class S3Config:
    bucket: str
    endpoint: str | None = None
    region: str = "us-east-1"
    prefix: str = "chunks/"
    timeout: float = 10.0


def config_from_env(environ: dict[str, str] | None = None) -> S3Config:
    """The S3 settings from the environment, each checked (StoreConfigError says which)."""
    env = dict(os.environ if environ is None else environ)
    bucket = env.get(BUCKET_ENV, "").strip()
    if not bucket:
        raise StoreConfigError(f"Kho tệp S3: chưa đặt tên bucket ({BUCKET_ENV}).")
    if not _BUCKET_RE.match(bucket) or ".." in bucket:
        raise StoreConfigError(
            f"{BUCKET_ENV} phải dài 3–63 ký tự, chỉ gồm chữ thường, số, dấu chấm và gạch ngang "
            f"(đang là «{bucket[:70]}»)."
        )
    endpoint = env.get(ENDPOINT_ENV, "").strip() or None
    if endpoint is not None:
        try:
            parts = urlsplit(endpoint)
            port_ok = parts.port is None or 1 <= parts.port <= 65535
        except ValueError:
            parts, port_ok = None, False
        if (
            len(endpoint) > 2048
            or parts is None
            or not port_ok
            or parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.query
            or parts.fragment
            or parts.username
        ):
            raise StoreConfigError(
                f"{ENDPOINT_ENV} phải là địa chỉ http:// hoặc https:// của kho S3, không kèm "
                f"tài khoản hay tham số (đang là «{endpoint[:80]}»)."
            )
    region = env.get(REGION_ENV, "").strip() or "us-east-1"
    if not _REGION_RE.match(region):
        raise StoreConfigError(
            f"{REGION_ENV} chỉ gồm chữ thường, số và gạch ngang (đang là «{region[:40]}»)."
        )
    prefix = env.get(PREFIX_ENV)
    prefix = "chunks/" if prefix is None else prefix.strip()
    if not _PREFIX_RE.match(prefix) or prefix.startswith("/") or "//" in prefix:
        raise StoreConfigError(
            f"{PREFIX_ENV} chỉ gồm chữ, số và các dấu / _ . -, tối đa 200 ký tự, không bắt đầu "
            f"bằng / (đang là «{prefix[:60]}»)."
        )
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    raw_timeout = env.get(TIMEOUT_ENV, "").strip()
    timeout = 10.0
    if raw_timeout:
        if not raw_timeout.isdigit() or not 1 <= int(raw_timeout) <= 120:
            raise StoreConfigError(
                f"{TIMEOUT_ENV} phải là số giây từ 1 đến 120 (đang là «{raw_timeout[:20]}»)."
            )
        timeout = float(raw_timeout)
    return S3Config(bucket, endpoint, region, prefix, timeout)


def _unavailable(_e: Exception) -> ApiError:
    return ApiError(
        503,
        "storage_unavailable",
        "Kho tệp của máy chủ tỉnh tạm thời không truy cập được; quầy sẽ gửi lại sau.",
        headers={"Retry-After": "30"},
    )


class S3ChunkStore:
    """A :class:`onestop.server.files.ChunkStore` on an S3-compatible bucket."""

    def __init__(self, client: Any, config: S3Config, key: bytes) -> None:
        self.client = client
        self.config = config
        self._aead = AESGCM(key)
        botocore_exceptions: Any = importlib.import_module("botocore.exceptions")
        self._client_error: type[Exception] = botocore_exceptions.ClientError
        self._boto_error: type[Exception] = botocore_exceptions.BotoCoreError

    @classmethod
    def from_config(cls, config: S3Config, key: bytes) -> S3ChunkStore:
        try:
            boto3: Any = importlib.import_module("boto3")
            botocore_config: Any = importlib.import_module("botocore.config")
        except ImportError as e:
            raise StoreConfigError(
                "Kho tệp S3 cần thư viện boto3: cài «pip install 'onestop[s3]'» trên máy chủ."
            ) from e
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=config.endpoint,
            region_name=config.region,
            config=botocore_config.Config(
                connect_timeout=config.timeout,
                read_timeout=config.timeout,
                retries={"max_attempts": 3, "mode": "standard"},
                # Path-style works with every S3-compatible server (MinIO, Ceph, moto).
                s3={"addressing_style": "path"} if config.endpoint else {},
            ),
        )
        return cls(client, config, key)

    def describe(self) -> str:
        """``s3://bucket/prefix`` at the endpoint, after checking the bucket answers."""
        try:
            self.client.head_bucket(Bucket=self.config.bucket)
        except self._client_error as e:
            code = self._code(e)
            if code in _NOT_FOUND or code == "NoSuchBucket":
                raise StoreConfigError(
                    f"Kho tệp S3 không có bucket «{self.config.bucket}» ({BUCKET_ENV})."
                ) from e
            raise StoreConfigError(
                f"Kho tệp S3 từ chối truy cập bucket «{self.config.bucket}» (mã {code}): "
                "kiểm tra AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY của máy chủ."
            ) from e
        except self._boto_error as e:
            raise StoreConfigError(
                f"Không kết nối được kho tệp S3 {self.config.endpoint or 'AWS'} "
                f"({ENDPOINT_ENV}): {type(e).__name__}."
            ) from e
        where = self.config.endpoint or "AWS"
        return f"s3://{self.config.bucket}/{self.config.prefix} ({where})"

    def key_of(self, chunk_id: str) -> str:
        if not is_chunk_id(chunk_id):
            raise ChunkStoreError("bad chunk id")
        return f"{self.config.prefix}{chunk_id[:2]}/{chunk_id}"

    def _code(self, e: Exception) -> str:
        return str(getattr(e, "response", {}).get("Error", {}).get("Code", ""))

    def has(self, chunk_id: str) -> bool:
        if not is_chunk_id(chunk_id):
            return False
        try:
            self.client.head_object(Bucket=self.config.bucket, Key=self.key_of(chunk_id))
        except self._client_error as e:
            if self._code(e) in _NOT_FOUND:
                return False
            raise _unavailable(e) from e
        except self._boto_error as e:
            raise _unavailable(e) from e
        return True

    def missing(self, chunk_ids: Iterable[str]) -> list[str]:
        # One HEAD per id, eight at a time (a boto3 client is thread-safe): a desk's query of
        # 1,024 ids costs about 1,024 / 8 round trips to the store, not 1,024.
        ids = list(dict.fromkeys(chunk_ids))
        with ThreadPoolExecutor(max_workers=_PARALLEL) as pool:
            held = dict(zip(ids, pool.map(self.has, ids), strict=True))
        return missing_chunks(ids, held.__getitem__)

    def get(self, chunk_id: str) -> bytes:
        try:
            answer = self.client.get_object(Bucket=self.config.bucket, Key=self.key_of(chunk_id))
            raw = answer["Body"].read()
        except self._client_error as e:
            if self._code(e) in _NOT_FOUND:
                raise ChunkStoreError(f"chunk {chunk_id[:12]}… is missing") from e
            raise _unavailable(e) from e
        except self._boto_error as e:
            raise _unavailable(e) from e
        return unseal_chunk(self._aead, chunk_id, bytes(raw))

    def put(self, chunk_id: str, data: bytes) -> bool:
        if self.has(chunk_id):
            return False
        sealed = seal_chunk(self._aead, chunk_id, data)
        try:
            self.client.put_object(
                Bucket=self.config.bucket,
                Key=self.key_of(chunk_id),
                Body=sealed,
                ContentType="application/octet-stream",
            )
        except (self._client_error, self._boto_error) as e:
            raise _unavailable(e) from e
        return True
