"""The component checklist and the digitisation index (onestop.domain.scans)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onestop.domain.scans import (
    ComponentCapture,
    ComponentStatus,
    DossierScanSummary,
    ScanRuleError,
    checklist,
    component_status,
    digitised,
    digitised_results_share,
    digitised_share,
    reused_components_share,
)

DOCS = ("Tờ khai đăng ký khai sinh", "Giấy chứng sinh", "Giấy tờ tùy thân")


@given(paper=st.integers(1, 500), data=st.data())
def test_scanned_iff_pages_match(paper, data):
    sticky = data.draw(st.integers(0, paper))
    captured = data.draw(st.integers(1, 1100))
    capture = ComponentCapture("Giấy chứng sinh", paper, captured, sticky)
    if captured == paper + sticky:
        assert component_status(capture) is ComponentStatus.SCANNED
    else:
        with pytest.raises(ScanRuleError, match="Giấy chứng sinh"):
            component_status(capture)


def test_message_names_pages():
    with pytest.raises(ScanRuleError) as info:
        component_status(ComponentCapture("Tờ khai", 3, 2))
    assert str(info.value) == "Thành phần «Tờ khai» có 3 trang giấy nhưng mới chụp 2 trang."


@given(paper=st.integers(0, 500), captured=st.integers(0, 500))
def test_shown_only_never_needs_pages(paper, captured):
    capture = ComponentCapture("CCCD", paper, captured, shown_only=True)
    assert component_status(capture) is ComponentStatus.SHOWN_ONLY


@given(
    statuses=st.lists(st.sampled_from(["scan", "shown", "missing"]), min_size=3, max_size=3),
    result=st.booleans(),
)
def test_digitised_needs_every_component_and_the_result(statuses, result):
    captures = {}
    for n, s in enumerate(statuses, start=1):
        if s == "scan":
            captures[n] = ComponentCapture(DOCS[n - 1], 2, 2)
        elif s == "shown":
            captures[n] = ComponentCapture(DOCS[n - 1], shown_only=True)
    items = checklist(DOCS, captures)
    assert [i.name for i in items] == list(DOCS)
    assert digitised(items, result) == (result and "missing" not in statuses)


def test_unknown_component_number_refused():
    with pytest.raises(ScanRuleError, match="chỉ có 3 thành phần"):
        checklist(DOCS, {4: ComponentCapture("x", 1, 1)})


summaries = st.builds(
    DossierScanSummary,
    components=st.integers(0, 6),
    components_scanned=st.integers(0, 6),
    components_reused=st.integers(0, 6),
    has_result=st.booleans(),
    result_digitised=st.booleans(),
)


@given(st.lists(summaries, max_size=30))
def test_index_shares_are_fractions(dossiers):
    for share in (digitised_share, reused_components_share, digitised_results_share):
        assert share(dossiers) >= 0.0
    assert 0.0 <= digitised_share(dossiers) <= 1.0
    assert 0.0 <= digitised_results_share(dossiers) <= 1.0


def test_index_formulas_on_a_small_period():
    dossiers = [
        DossierScanSummary(3, 3, 0, True, True),
        DossierScanSummary(2, 1, 1, True, False),
        DossierScanSummary(2, 0, 0, False, False),
        DossierScanSummary(1, 0, 0, False, False),
    ]
    assert digitised_share(dossiers) == 2 / 4
    assert reused_components_share(dossiers) == 1 / 8
    assert digitised_results_share(dossiers) == 1 / 2
    assert digitised_share([]) == 0.0
