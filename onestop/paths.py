"""Where the shipped assets and migrations live (in a checkout and in an installed wheel), and
the files that sit beside a desk database."""

from __future__ import annotations

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
