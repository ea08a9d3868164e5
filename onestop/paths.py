"""Where the shipped assets and migrations live (in a checkout and in an installed wheel), the
files that sit beside a desk database, and writing a file so it is never seen half-written."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _first_existing(*candidates: Path) -> Path:
    for c in candidates:
        if c.exists():
            return c
    return candidates[0]


def assets_dir() -> Path:
    # In a checkout the assets sit beside the package; a wheel carries them as onestop/_assets.
    return _first_existing(_PKG.parent / "assets", _PKG / "_assets")


def migrations_dir() -> Path:
    return _first_existing(_PKG.parent / "migrations", _PKG / "_migrations")


def asset_path(*parts: str) -> Path:
    return assets_dir().joinpath(*parts)


KEYRING_SUFFIX = ".keyring"


def keyring_path(db: Path) -> Path:
    """``desk.sqlite`` -> ``desk.sqlite.keyring`` (same folder, so they are copied together)."""
    return db.with_name(db.name + KEYRING_SUFFIX)


def has_keyring(db: Path) -> bool:
    """An encrypted desk: every CLI and TUI path must log in."""
    return keyring_path(db).exists()


_SQLITE_HEADER = b"SQLite format 3\x00"


def desk_file_problem(db: Path) -> str | None:
    """What makes ``db`` unusable as a desk file, as a sentence for the clerk, or ``None``: a
    folder, a device (``/dev/null``), an unreadable file or a plain file that is not SQLite,
    caught before SQLite turns it into "disk I/O error". A missing file is no problem here
    (``Desk.open`` says how to create one), nor an empty one; an encrypted desk has no
    readable header, its key check speaks for it."""
    from onestop.i18n import t

    try:
        st = db.stat()
    except FileNotFoundError:
        return None
    except OSError as e:
        return t("Không đọc được tệp quầy {path}: {err}.", path=db, err=e.strerror or e)
    if stat.S_ISDIR(st.st_mode):
        return t(
            "{path} là một thư mục, không phải tệp cơ sở dữ liệu của quầy; --db cần một tệp "
            ".sqlite.",
            path=db,
        )
    if not stat.S_ISREG(st.st_mode):
        return t(
            "{path} không phải tệp thường (thiết bị, ống dẫn…), không thể là cơ sở dữ liệu "
            "của quầy.",
            path=db,
        )
    if not os.access(db, os.R_OK | os.W_OK):
        return t("Không có quyền đọc và ghi tệp quầy {path}.", path=db)
    if st.st_size == 0 or has_keyring(db):
        return None
    try:
        with db.open("rb") as f:
            head = f.read(len(_SQLITE_HEADER))
    except OSError as e:
        return t("Không đọc được tệp quầy {path}: {err}.", path=db, err=e.strerror or e)
    if head != _SQLITE_HEADER:
        return t(
            "{path} không phải cơ sở dữ liệu của quầy (không phải tệp SQLite, hoặc đã hỏng).",
            path=db,
        )
    return None


def write_atomically(
    path: Path, data: bytes, *, mode: int | None = None, sync_folder: bool = False
) -> None:
    """Write ``data`` beside ``path``, fsync, rename over it: a crash or a full disk leaves the
    old file or the new one, never half of one. ``mode`` is set before the rename;
    ``sync_folder`` also makes the rename itself durable (keys, keyrings)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if sync_folder:
        fsync_folder(path.parent)


def fsync_folder(folder: Path) -> None:
    """Make a new directory entry durable (POSIX; folders cannot be opened on Windows)."""
    if os.name == "nt":  # pragma: no cover - exercised on Windows desks
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
