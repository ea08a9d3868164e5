"""What a screen says about a dossier's fee: collected, not yet, or nothing to pay.

Issue 17: the receipt screen said "đã nộp 0 đ" for a fee that was simply not collected yet
(the "Đã thu" box was unticked by default). The clerk now chooses at confirm, and every
screen words the state from the dossier's own numbers with this one function.
"""

from __future__ import annotations

from onestop.domain.text import format_vnd
from onestop.i18n import t


def fee_line(fee_vnd: int, fee_paid: int) -> str:
    """ "10.000 đ — đã thu", "10.000 đ — chưa thu", "10.000 đ — đã thu 5.000 đ, còn 5.000 đ",
    or "Không thu phí, lệ phí" for a zero fee (free or exempt)."""
    if fee_vnd <= 0:
        return t("Không thu phí, lệ phí")
    amount = format_vnd(fee_vnd)
    if fee_paid >= fee_vnd:
        return t("{amount} — đã thu", amount=amount)
    if fee_paid <= 0:
        return t("{amount} — chưa thu", amount=amount)
    return t(
        "{amount} — đã thu {paid}, còn {left}",
        amount=amount,
        paid=format_vnd(fee_paid),
        left=format_vnd(fee_vnd - fee_paid),
    )


__all__ = ["fee_line"]
