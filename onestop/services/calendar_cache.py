"""A copy of the ``holidays`` package's Vietnam tables in the user's cache folder.

Importing the package costs ~0.1 s, a fifth of the desk's whole cold start, to learn about a
handful of days that only change when the package does. So the cold-start glance reads the
tables of this year and the next from here, and writes them after computing them once. The
key is the installed package's version (its ``dist-info`` folder name): upgrading ``holidays``
makes the copy stale and it is rebuilt. Anything unreadable is ignored, never trusted: the
domain checks every table it is handed (``use_package_year_table``).
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterable
from pathlib import Path

from platformdirs import user_cache_path

from onestop.domain.calendar import package_year_table, use_package_year_table
from onestop.paths import write_atomically

CACHE_FORMAT = 1  # bump when the table's meaning changes on our side


def cache_file() -> Path:
    return user_cache_path("onestop") / "calendar-vn.json"


def _package_key() -> str | None:
    spec = importlib.util.find_spec("holidays")
    if spec is None or not spec.submodule_search_locations:
        return None
    site = Path(next(iter(spec.submodule_search_locations))).parent
    infos = [p.name for p in site.glob("holidays-*.dist-info")]
    return f"{infos[0]}/{CACHE_FORMAT}" if len(infos) == 1 else None


def preload(years: Iterable[int]) -> list[int]:
    """Hand the cached tables of ``years`` to the domain; return the years not found."""
    wanted = list(years)
    key = _package_key()
    if key is None:
        return wanted
    try:
        doc = json.loads(cache_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return wanted
    if not isinstance(doc, dict) or doc.get("key") != key or not isinstance(doc.get("years"), dict):
        return wanted
    missing = []
    for year in wanted:
        entry = doc["years"].get(str(year))
        try:
            use_package_year_table(year, entry["work"], entry["names"])
        except (TypeError, KeyError, ValueError, AttributeError):
            missing.append(year)
    return missing


def save(years: Iterable[int]) -> None:
    """Write the tables of ``years`` (computing them with the package if needed). Best effort:
    a read-only home folder only means the next start computes them again."""
    key = _package_key()
    if key is None:
        return
    tables = {
        str(y): dict(zip(("work", "names"), package_year_table(y), strict=True)) for y in years
    }
    path = cache_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"key": key, "years": tables}
        write_atomically(path, json.dumps(doc, ensure_ascii=False).encode("utf-8"))
    except OSError:
        return


def warm(years: Iterable[int]) -> None:
    """Make the tables of ``years`` ready without importing the package when the cache has
    them; compute and write them once when it does not. Every way of opening a desk calls this:
    the first deadline of the day would otherwise pay the package's import."""
    wanted = list(years)
    if preload(wanted):
        save(wanted)
