"""Settings: environment (``ONESTOP_*``), then a TOML file, then defaults.

The desk's *identity* (unit e-ID, commune, desk number, office hours) lives in the database,
because it must travel with the data in a backup. This file holds per-machine preferences.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from platformdirs import user_config_path, user_data_path, user_documents_path
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

APP_NAME = "onestop"


def default_db_path() -> Path:
    return user_data_path(APP_NAME) / "desk.sqlite"


def config_file_path() -> Path:
    """The one config-discovery function: ``ONESTOP_CONFIG_FILE`` or the user config dir."""
    override = os.environ.get("ONESTOP_CONFIG_FILE")
    return Path(override) if override else user_config_path(APP_NAME) / "config.toml"


class ConfigError(Exception):
    """A configuration a clerk must fix; the message says what and where."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ONESTOP_", env_nested_delimiter="__", extra="forbid"
    )

    db: Path = Field(default_factory=default_db_path)
    """Path of the desk's SQLite database file."""

    language: str = Field(default="vi", pattern="^(vi|en)$")
    """Language of the desk: "vi" (default) or "en"."""

    theme: str = "onestop-light"
    """Colour theme of the desk (onestop-light, onestop-dark, textual-ansi...)."""

    official: str = Field(default_factory=lambda: os.environ.get("USER", "") or "Cán bộ một cửa")
    """Deprecated: an encrypted desk records the logged-in account instead. Read only for a
    plain desk without a keyring (made before accounts existed); kept so old config files load."""

    role: str = Field(default="clerk", pattern="^(clerk|specialist|leader|admin)$")
    """Deprecated, like ``official``: the account's role applies on an encrypted desk."""

    server_url: str = ""
    """Provincial server address for sync (empty: not enrolled)."""

    sync_interval: float = Field(default=60.0, ge=5.0, le=24 * 3600.0)
    """Seconds between two background syncs of the desk while the server answers (5 to 86400);
    after a failure the desk waits longer each time, up to 15 minutes."""

    export_dir: Path | None = None
    """Folder the desk offers for exported reports and slips (default: the user's Documents
    folder if it exists, else the user data dir)."""


def default_export_dir() -> Path:
    """``~/Documents`` (or its localised name) when it exists, else the user data dir."""
    docs = user_documents_path()
    return docs if docs.is_dir() else user_data_path(APP_NAME)


def load_settings(**overrides: Any) -> Settings:
    """Read the TOML file (if any) under env vars and explicit overrides; readable errors only."""
    path = config_file_path()
    file_values: dict[str, Any] = {}
    if path.exists():
        try:
            file_values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"Tệp cấu hình {path} không hợp lệ: {e}") from e
    try:
        env_only = Settings()
        merged = {
            **file_values,
            **{k: v for k, v in env_only.model_dump().items() if k in _env_keys()},
        }
        merged.update({k: v for k, v in overrides.items() if v is not None})
        return Settings(**merged)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}" for err in e.errors()
        )
        raise ConfigError(f"Cấu hình không hợp lệ ({path}): {problems}") from e


def _env_keys() -> set[str]:
    return {k[len("ONESTOP_") :].lower() for k in os.environ if k.startswith("ONESTOP_")}
