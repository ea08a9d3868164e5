"""Digitised dossiers: the component checklist and the "Số hóa" index (pure rules, no I/O).

Law (REFERENCE.md §1.1):

* Circular 01/2023/TT-VPCP Art. 8(2), via TT 03/2025 Art. 5: the scan has the paper's page
  count, pages in order, pages with sticky notes captured twice, integrity kept.
* TT 03/2025 Art. 5(2): no scan is needed for (a) dossiers filed electronically, (b) papers
  only shown at filing, (c) inter-agency verification results, (d) secret documents. Here a
  component is marked ``shown_only`` for (b)-(d); (a) never reaches the desk's scanner.

The components of a dossier are its procedure's ``documents`` (catalogue order, numbered from 1,
the same numbers the separator sheets carry).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = [
    "ChecklistItem",
    "ComponentCapture",
    "ComponentStatus",
    "DossierScanSummary",
    "ScanRuleError",
    "checklist",
    "component_status",
    "digitised",
    "digitised_results_share",
    "digitised_share",
    "reused_components_share",
]

MAX_PAPER_PAGES: Final = 500


class ScanRuleError(ValueError):
    """A capture that breaks the digitisation rules (message in Vietnamese)."""


class ComponentStatus(StrEnum):
    SCANNED = "scanned"
    SHOWN_ONLY = "shown_only"  # TT 03/2025 Art. 5(2): only shown, no scan needed
    MISSING = "missing"


@dataclass(frozen=True)
class ComponentCapture:
    """What the clerk declared and captured for one component.

    ``paper_pages``: pages of the paper; ``sticky_note_pages``: how many of them carry a sticky
    note (each such page is captured twice: with and without the note);
    ``captured_pages``: pages in the stored PDF (0 = nothing captured yet)."""

    name: str
    paper_pages: int = 0
    captured_pages: int = 0
    sticky_note_pages: int = 0
    shown_only: bool = False
    reused: bool = False  # taken from an earlier dossier / the national data (not re-scanned)

    @property
    def expected_pages(self) -> int:
        return self.paper_pages + self.sticky_note_pages


@dataclass(frozen=True)
class ChecklistItem:
    number: int
    name: str
    status: ComponentStatus
    reused: bool = False


def component_status(c: ComponentCapture) -> ComponentStatus:
    """Status of one component; raises ScanRuleError for an impossible or incomplete capture."""
    if c.shown_only:
        return ComponentStatus.SHOWN_ONLY
    if c.paper_pages < 0 or c.captured_pages < 0 or c.sticky_note_pages < 0:
        raise ScanRuleError(f"Số trang của thành phần «{c.name}» không được âm.")
    if c.paper_pages > MAX_PAPER_PAGES:
        raise ScanRuleError(
            f"Thành phần «{c.name}» khai {c.paper_pages} trang, vượt giới hạn "
            f"{MAX_PAPER_PAGES} trang."
        )
    if c.sticky_note_pages > c.paper_pages:
        raise ScanRuleError(
            f"Thành phần «{c.name}» có {c.paper_pages} trang giấy nhưng khai "
            f"{c.sticky_note_pages} trang có giấy ghi chú."
        )
    if c.captured_pages == 0:
        return ComponentStatus.MISSING
    if c.paper_pages == 0:
        raise ScanRuleError(f"Hãy nhập số trang giấy của thành phần «{c.name}» trước khi quét.")
    if c.captured_pages != c.expected_pages:
        if c.sticky_note_pages:
            raise ScanRuleError(
                f"Thành phần «{c.name}» có {c.paper_pages} trang giấy "
                f"(trong đó {c.sticky_note_pages} trang có giấy ghi chú, chụp hai lần) "
                f"nên phải có {c.expected_pages} trang chụp, nhưng mới chụp "
                f"{c.captured_pages} trang."
            )
        raise ScanRuleError(
            f"Thành phần «{c.name}» có {c.paper_pages} trang giấy nhưng mới chụp "
            f"{c.captured_pages} trang."
        )
    return ComponentStatus.SCANNED


def checklist(
    documents: Sequence[str], captures: Mapping[int, ComponentCapture]
) -> tuple[ChecklistItem, ...]:
    """One item per component of the procedure (``ProcedureInfo.documents``), numbered from 1.

    ``captures`` is keyed by component number; a component with no entry is missing.
    Raises ScanRuleError for a capture numbered outside the procedure's components."""
    extra = sorted(n for n in captures if not 1 <= n <= len(documents))
    if extra:
        raise ScanRuleError(
            f"Thủ tục này chỉ có {len(documents)} thành phần hồ sơ; không có thành phần số "
            f"{extra[0]}."
        )
    items = []
    for number, name in enumerate(documents, start=1):
        capture = captures.get(number)
        if capture is None:
            items.append(ChecklistItem(number, name, ComponentStatus.MISSING))
            continue
        items.append(ChecklistItem(number, name, component_status(capture), capture.reused))
    return tuple(items)


def digitised(items: Iterable[ChecklistItem], result_attached: bool) -> bool:
    """A dossier is digitised when every component is scanned or shown-only AND its result is
    attached."""
    return result_attached and all(i.status is not ComponentStatus.MISSING for i in items)


@dataclass(frozen=True)
class DossierScanSummary:
    """One dossier as the index sees it (built by the service from its checklist)."""

    components: int  # components that need a scan (shown-only excluded)
    components_scanned: int
    components_reused: int  # of the components, how many were re-used instead of scanned
    has_result: bool  # a result was issued in the period
    result_digitised: bool


def _share(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def digitised_share(dossiers: Sequence[DossierScanSummary]) -> float:
    """Dossiers with their components digitised / dossiers received.

    share = |{d : d.components_scanned + d.components_reused >= d.components}| / |D|

    (QĐ 766/QĐ-TTg "Số hóa" group, as the Thanh Hóa system computes it [P]; 0 when |D| = 0.)"""
    done = sum(1 for d in dossiers if d.components_scanned + d.components_reused >= d.components)
    return _share(done, len(dossiers))


def reused_components_share(dossiers: Sequence[DossierScanSummary]) -> float:
    """Components re-used (from earlier dossiers or the national portal) / components needed.

    share = Σ d.components_reused / Σ d.components  (0 when no component is needed)"""
    return _share(sum(d.components_reused for d in dossiers), sum(d.components for d in dossiers))


def digitised_results_share(dossiers: Sequence[DossierScanSummary]) -> float:
    """Results digitised / results issued.

    share = |{d : d.has_result ∧ d.result_digitised}| / |{d : d.has_result}|  (0 when none)"""
    issued = [d for d in dossiers if d.has_result]
    return _share(sum(1 for d in issued if d.result_digitised), len(issued))
