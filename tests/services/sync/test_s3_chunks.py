"""The server's chunk store on S3-compatible storage, against a real local S3 server.

The S3 server is moto's (``moto[server]``, ``ThreadedMotoServer`` on 127.0.0.1: a real HTTP S3
API in a thread of the test process); boto3 talks to it over HTTP exactly as to MinIO or AWS.
A real ``onestop serve`` configured with ``ONESTOP_SERVER_CHUNK_STORE=s3`` receives a desk's
file through the files lane and hands it back byte for byte; at rest the bucket holds only
sealed chunks.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from onestop.domain.attachments import CHUNK_SIZE
from onestop.server.errors import ApiError
from onestop.server.files import STORE_ENV, ChunkStoreError, StoreConfigError, store_kind
from onestop.server.s3store import (
    BUCKET_ENV,
    ENDPOINT_ENV,
    PREFIX_ENV,
    REGION_ENV,
    TIMEOUT_ENV,
    S3ChunkStore,
    S3Config,
    config_from_env,
)
from onestop.services.sync import client as sync
from onestop.services.sync.files import files_queue
from tests.services.sync.helpers import FAST, ServerProcess, enroll, free_port, passphrase
from tests.services.sync.test_files_lane import attached_desk, random_pdf, staff_download

BUCKET = "onestop-chunks"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "onestop-test",
    "AWS_SECRET_ACCESS_KEY": "onestop-test-secret",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    """A local S3-compatible server (moto) with one bucket; yields its endpoint URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    client.create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


@pytest.fixture
def s3_env(s3: str, monkeypatch: pytest.MonkeyPatch) -> str:
    for k, v in CREDENTIALS.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv(STORE_ENV, "s3")
    monkeypatch.setenv(BUCKET_ENV, BUCKET)
    monkeypatch.setenv(ENDPOINT_ENV, s3)
    monkeypatch.delenv(PREFIX_ENV, raising=False)
    return s3


def bucket_objects(endpoint: str, prefix: str = "") -> dict[str, bytes]:
    client: Any = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    out: dict[str, bytes] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for o in page.get("Contents", []):
            out[o["Key"]] = client.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()
    return out


def store(prefix: str) -> S3ChunkStore:
    return S3ChunkStore.from_config(config_from_env() if not prefix else _cfg(prefix), b"k" * 32)


def _cfg(prefix: str) -> S3Config:
    base = config_from_env()
    return S3Config(base.bucket, base.endpoint, base.region, prefix, base.timeout)


def test_put_has_get_missing_sealed_and_bound_to_the_id(s3_env: str) -> None:
    st = store("unit/")
    assert "s3://onestop-chunks/unit/" in st.describe()
    pieces = [random.Random(i).randbytes(1000 + i) for i in range(3)]
    ids = [hashlib.sha256(p).hexdigest() for p in pieces]
    assert st.missing(ids + ids[:1]) == ids
    assert st.put(ids[0], pieces[0]) is True
    assert st.put(ids[0], pieces[0]) is False  # idempotent: a second worker, a re-send
    assert st.has(ids[0]) and not st.has(ids[1]) and not st.has("not-an-id")
    assert st.get(ids[0]) == pieces[0]
    assert st.missing(ids) == ids[1:]
    objects = bucket_objects(s3_env, "unit/")
    assert list(objects) == [f"unit/{ids[0][:2]}/{ids[0]}"]
    assert pieces[0][:64] not in objects[f"unit/{ids[0][:2]}/{ids[0]}"]  # sealed at rest
    with pytest.raises(ChunkStoreError, match="missing"):
        st.get(ids[1])
    # An object moved under another chunk's key fails: the seal binds it to its id.
    client: Any = boto3.client("s3", endpoint_url=s3_env, region_name="us-east-1")
    client.put_object(Bucket=BUCKET, Key=st.key_of(ids[1]), Body=objects[st.key_of(ids[0])])
    with pytest.raises(ChunkStoreError, match="damaged"):
        st.get(ids[1])
    # Another server key cannot read the bucket.
    other = S3ChunkStore.from_config(_cfg("unit/"), b"x" * 32)
    with pytest.raises(ChunkStoreError, match="damaged"):
        other.get(ids[0])


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({STORE_ENV: "ftp"}, STORE_ENV),
        ({STORE_ENV: "s3", BUCKET_ENV: ""}, BUCKET_ENV),
        ({STORE_ENV: "s3", BUCKET_ENV: "Bad_Bucket"}, BUCKET_ENV),
        ({STORE_ENV: "s3", BUCKET_ENV: "ok-bucket", ENDPOINT_ENV: "ftp://x"}, ENDPOINT_ENV),
        (
            {STORE_ENV: "s3", BUCKET_ENV: "ok-bucket", ENDPOINT_ENV: "http://u:p@h:9000"},
            ENDPOINT_ENV,
        ),
        ({STORE_ENV: "s3", BUCKET_ENV: "ok-bucket", ENDPOINT_ENV: "http://h:99999"}, ENDPOINT_ENV),
        ({STORE_ENV: "s3", BUCKET_ENV: "ok-bucket", REGION_ENV: "Mars 1"}, REGION_ENV),
        ({STORE_ENV: "s3", BUCKET_ENV: "ok-bucket", PREFIX_ENV: "/abs"}, PREFIX_ENV),
        ({STORE_ENV: "s3", BUCKET_ENV: "ok-bucket", TIMEOUT_ENV: "0"}, TIMEOUT_ENV),
        ({STORE_ENV: "s3", BUCKET_ENV: "ok-bucket", TIMEOUT_ENV: "1e3"}, TIMEOUT_ENV),
    ],
)
def test_bad_settings_are_named(
    env: dict[str, str], says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STORE_ENV, env[STORE_ENV])
    with pytest.raises(StoreConfigError, match=says):
        assert store_kind() == "s3"
        config_from_env(env)


def test_settings_defaults_and_prefix_slash() -> None:
    cfg = config_from_env({BUCKET_ENV: "b.ok-1", PREFIX_ENV: "tinh/38", TIMEOUT_ENV: "5"})
    assert cfg == S3Config("b.ok-1", None, "us-east-1", "tinh/38/", 5.0)


def test_unreachable_or_unknown_bucket(s3_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BUCKET_ENV, "no-such-bucket")
    with pytest.raises(StoreConfigError, match="không có bucket"):
        store("").describe()
    monkeypatch.setenv(BUCKET_ENV, BUCKET)
    monkeypatch.setenv(ENDPOINT_ENV, f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv(TIMEOUT_ENV, "1")
    down = store("")
    with pytest.raises(StoreConfigError, match="Không kết nối được"):
        down.describe()
    # At run time the desk gets a 503 (it retries later), never a traceback.
    with pytest.raises(ApiError) as e:
        down.has("a" * 64)
    assert e.value.status == 503


def test_onestop_serve_on_s3_receives_a_file_byte_for_byte(
    s3_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PREFIX_ENV, "serve")
    server = ServerProcess(f"sqlite:///{tmp_path / 'server.sqlite'}")
    server.start()
    try:
        data = random_pdf(random.Random(7), 200 * 1024)
        n_chunks = -(-len(data) // CHUNK_SIZE)
        desk, code, sha = attached_desk(tmp_path, 71, data)
        enroll(desk, server.db_url, server.url)
        report = sync.sync_once(desk, passphrase_provider=passphrase, options=FAST)
        assert report.ok, report.error
        assert files_queue(desk).files == 0
        assert staff_download(server, code, sha) == data
        objects = bucket_objects(s3_env, "serve/")
        assert len(objects) == n_chunks
        assert not (tmp_path / "chunks").exists()  # nothing on the server's disk
        assert not any(data[CHUNK_SIZE : CHUNK_SIZE + 256] in o for o in objects.values())
        desk.close()
    finally:
        server.close()


def test_onestop_serve_refuses_a_wrong_bucket_before_starting(s3_env: str, tmp_path: Path) -> None:
    env = {**os.environ, BUCKET_ENV: "missing-bucket"}
    done = subprocess.run(
        [sys.executable, "-m", "onestop.cli.main", "serve", "--database-url",
         f"sqlite:///{tmp_path / 's.sqlite'}", "--port", str(free_port())],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "không có bucket «missing-bucket»" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_default_server_loads_neither_boto3_nor_pikepdf() -> None:
    probe = "import json, sys; import onestop.server.app; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    modules = json.loads(out.stdout.strip().splitlines()[-1])
    heavy = ("boto3", "botocore", "moto", "pikepdf")  # pikepdf: only when a files page asks
    assert not [m for m in modules if m.split(".")[0] in heavy]
