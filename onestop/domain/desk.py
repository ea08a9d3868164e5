"""Who this desk is: the unit, the commune, the desk number. Printed on every slip."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from onestop.domain.calendar import CalendarOverride, DayKind, OfficeHours
from onestop.i18n import t


@dataclass(frozen=True)
class DeskIdentity:
    unit_eid: (
        str  # mã định danh điện tử of the unit, prefix of every dossier code, e.g. "000.00.14.H56"
    )
    commune_code: str  # 5-digit commune code (QĐ 19/2025/QĐ-TTg)
    commune_name: str  # e.g. "Xã Mường Lát"
    province_code: str  # 2-digit province code, e.g. "38"
    province_name: str  # e.g. "Thanh Hóa"
    desk_no: int  # 1..99, part of every dossier code's sequence (see domain/codes.py)
    desk_name: str  # e.g. "Quầy 1"

    @property
    def desk_id(self) -> str:
        """Globally unique desk identity used in the event log: "<commune>-<desk no>"."""
        return f"{self.commune_code}-{self.desk_no:02d}"

    @property
    def office_name(self) -> str:
        """The one-stop office as printed on slips (TT 03/2025 naming)."""
        return t("Trung tâm Phục vụ hành chính công {commune}", commune=self.commune_name)

    @property
    def agency_name(self) -> str:
        # Not translated: an official name printed on the Vietnamese forms and stored in the
        # desk key's label, so it must not depend on the display language.
        return f"UBND {self.commune_name}"


# The desk's settings table (key → text) is read by the full desk and by the cold-start glance
# (services/glance.py); both turn it into the identity and office hours here.


def identity_from_settings(settings: Mapping[str, str]) -> DeskIdentity:
    """The identity recorded by ``onestop init`` (KeyError when the desk was never set up)."""
    return DeskIdentity(
        unit_eid=settings["unit_eid"],
        commune_code=settings["commune_code"],
        commune_name=settings.get("commune_name", ""),
        province_code=settings.get("province_code", ""),
        province_name=settings.get("province_name", ""),
        desk_no=int(settings["desk_no"]),
        desk_name=settings.get("desk_name", ""),
    )


def hours_from_settings(settings: Mapping[str, str]) -> OfficeHours:
    return OfficeHours.parse(
        settings.get("office_hours", OfficeHours().format()),
        settings.get("same_day_cutoff", "15:00"),
    )


def override_from_row(day: str, kind: str, note: str) -> CalendarOverride:
    """One stored ``calendar_day`` row as the domain's override."""
    return CalendarOverride(date.fromisoformat(day), DayKind(kind), note)
