"""Settings: explicit overrides, then environment (``ONESTOP_*``), then a TOML file, then
defaults.

The desk's *identity* (unit e-ID, commune, desk number, office hours) lives in the database,
because it must travel with the data in a backup. This file holds per-machine preferences.

Plain dataclass and hand-written checks rather than pydantic-settings: the messages are the
clerk's (Vietnamese, through ``t()``, naming the file or variable to fix), and the desk's cold
start does not pay ~0.1 s for a validation library to read eight values.

The root command reads these settings before every command (for the language), so this module
imports only the standard library at its top: platformdirs, ``tomllib`` and the server-URL check
load when a path is asked, a file is read or a server URL is set (issue 19 §3, start time).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onestop.i18n import LANGUAGES, t

APP_NAME = "onestop"
ROLES = ("clerk", "specialist", "leader", "admin")
SYNC_INTERVAL_RANGE = (5.0, 24 * 3600.0)
# The one default pause between two syncs: the desk's background sync (``sync_interval``) and
# ``onestop sync``'s ``--interval`` both start from it, so the two never disagree.
SYNC_INTERVAL_DEFAULT_S = 60


def default_db_path() -> Path:
    from platformdirs import user_data_path

    # appauthor=False: on Windows %LOCALAPPDATA%\onestop, not ...\onestop\onestop (platformdirs
    # repeats the name as the "author" folder otherwise); ignored on Linux and macOS.
    return user_data_path(APP_NAME, appauthor=False) / "desk.sqlite"


def config_file_path() -> Path:
    """The one config-discovery function: ``ONESTOP_CONFIG_FILE`` or the user config dir."""
    override = os.environ.get("ONESTOP_CONFIG_FILE")
    if override:
        return Path(override)
    from platformdirs import user_config_path

    return user_config_path(APP_NAME, appauthor=False) / "config.toml"


def user_documents_path() -> Path:
    """The user's Documents folder (platformdirs, imported only when asked)."""
    from platformdirs import user_documents_path as documents

    return documents()


class ConfigError(Exception):
    """A configuration a clerk must fix; the message says what and where."""


def _default_official() -> str:
    return os.environ.get("USER", "") or "Cán bộ một cửa"


@dataclass(frozen=True)
class Settings:
    db: Path = field(default_factory=default_db_path)
    """Path of the desk's SQLite database file."""

    language: str = "vi"
    """Language of the desk: "vi" (default) or "en"."""

    theme: str = "onestop-light"
    """Colour theme of the desk (onestop-light, onestop-dark, textual-ansi...)."""

    official: str = field(default_factory=_default_official)
    """Deprecated: an encrypted desk records the logged-in account instead. Read only for a
    plain desk without a keyring (made before accounts existed); kept so old config files load."""

    role: str = "clerk"
    """Deprecated, like ``official``: the account's role applies on an encrypted desk."""

    server_url: str = ""
    """Provincial server address for sync (empty: not enrolled)."""

    sync_interval: float = float(SYNC_INTERVAL_DEFAULT_S)
    """Seconds between two background syncs of the desk while the server answers (5 to 86400);
    after a failure the desk waits longer each time, up to 15 minutes."""

    allow_insecure_http: bool = False
    """Lab only: allow a plain ``http://`` server_url to another machine (names, ID numbers and
    phones then cross the network readable). Off: the server must use https://, except on this
    machine (127.0.0.1, ::1, localhost). Enrollment warns while it is on."""

    export_dir: Path | None = None
    """Folder the desk offers for exported reports and slips (default: the user's Documents
    folder if it exists, else the user data dir)."""

    explicit: frozenset[str] = frozenset()
    """Names of the settings given by the file, the environment or the caller (not defaults):
    the desk lets a preference saved in the database win over a mere default."""


EXPORTS_FOLDER_NAME = "onestop-exports"


def default_export_dir() -> Path:
    """``~/Documents`` (or its localised name) when it exists, else ``~/onestop-exports``: a
    folder the clerk sees in the file manager, never the hidden data dir where a report or a
    slip would be lost (made when the first file is written there)."""
    docs = user_documents_path()
    return docs if docs.is_dir() else Path.home() / EXPORTS_FOLDER_NAME


# ---------------------------------------------------------------------------- checks


def _path(value: object) -> Path:
    if not isinstance(value, str | Path) or not str(value).strip():
        raise ValueError(t("phải là một đường dẫn tệp hoặc thư mục"))
    return Path(str(value).strip()).expanduser()


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(t("phải là một chuỗi chữ (đặt trong dấu nháy)"))
    return value.strip()


def _one_of(choices: tuple[str, ...]) -> Callable[[object], str]:
    def check(value: object) -> str:
        if value not in choices:
            raise ValueError(t("phải là một trong: {choices}", choices=", ".join(choices)))
        return str(value)

    return check


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(t("phải là true hoặc false"))


def _interval(value: object) -> float:
    low, high = SYNC_INTERVAL_RANGE
    try:
        number = float(value) if isinstance(value, int | float | str) else float("nan")
    except ValueError:
        number = float("nan")
    if isinstance(value, bool) or not low <= number <= high:  # NaN fails the comparison too
        raise ValueError(t("phải là số giây từ {low:g} đến {high:g}", low=low, high=high))
    return number


_CHECKS: dict[str, Callable[[object], Any]] = {
    "db": _path,
    "language": _one_of(LANGUAGES),
    "theme": _text,
    "official": _text,
    "role": _one_of(ROLES),
    "server_url": _text,
    "sync_interval": _interval,
    "allow_insecure_http": _flag,
    "export_dir": _path,
}


def _shown(value: object) -> str:
    return repr(value) if not isinstance(value, str) else f"«{value}»"


def _checked(values: Mapping[str, object], where: Callable[[str], str]) -> dict[str, Any]:
    """Check every value; raise one ConfigError naming all the problems and where they are."""
    out: dict[str, Any] = {}
    problems: list[str] = []
    for name, value in values.items():
        check = _CHECKS.get(name)
        if check is None:
            problems.append(
                t(
                    "{where}: không có thiết lập «{name}» (các thiết lập: {known})",
                    where=where(name),
                    name=name,
                    known=", ".join(_CHECKS),
                )
            )
            continue
        try:
            out[name] = check(value)
        except ValueError as e:
            problems.append(
                t(
                    "{where}: {problem} (đang là {value})",
                    where=where(name),
                    problem=e,
                    value=_shown(value),
                )
            )
    if problems:
        raise ConfigError(t("Cấu hình không hợp lệ: {problems}.", problems="; ".join(problems)))
    return out


def _read_file(path: Path) -> dict[str, object]:
    if not path.exists():
        return {}
    import tomllib

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as e:
        raise ConfigError(
            t(
                "Tệp cấu hình {path} không đọc được: {error}. Sửa hoặc xóa tệp này.",
                path=path,
                error=e,
            )
        ) from e


def load_settings(**overrides: Any) -> Settings:
    """Read the TOML file (if any) under env vars and explicit overrides; readable errors only."""
    path = config_file_path()
    from_file = _checked(_read_file(path), lambda name: f"{path} [{name}]")
    # Other ONESTOP_* variables (NOW, USER, PASSWORD, LANG, CONFIG_FILE...) are not settings.
    env = {
        name: os.environ[f"ONESTOP_{name.upper()}"]
        for name in _CHECKS
        if f"ONESTOP_{name.upper()}" in os.environ
    }
    from_env = _checked(env, lambda name: f"ONESTOP_{name.upper()}")
    given = {k: v for k, v in overrides.items() if v is not None}
    from_caller = _checked(given, lambda name: f"--{name.replace('_', '-')}")
    merged = {**from_file, **from_env, **from_caller}
    if merged.get("server_url"):
        from onestop.services.sync.url import check_server_url

        try:
            check_server_url(merged["server_url"], bool(merged.get("allow_insecure_http")))
        except ValueError as e:
            where = (
                "--server-url"
                if "server_url" in from_caller
                else "ONESTOP_SERVER_URL"
                if "server_url" in from_env
                else f"{path} [server_url]"
            )
            raise ConfigError(
                t("Cấu hình không hợp lệ: {problems}.", problems=f"{where}: {e}".rstrip("."))
            ) from e
    return Settings(**merged, explicit=frozenset(merged))
