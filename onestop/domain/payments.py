"""Payments of fees and charges (phí, lệ phí): methods and the amount rule (pure).

The law (REFERENCE.md §2.1, Lai Châu QĐ 88/2025 cl. 4) says fees are collected at the desk but
is silent on overpayment and on paying in instalments. The decision (README, "Lifecycle"):

* A payment never exceeds what is still owed (``fee_vnd - fee_paid``): a larger amount is a
  typing mistake or change to give back, never revenue, and would overstate the fee report.
* A payment settles the whole amount owed, except where the fee is charged per copy or per
  page (``FeeBasis.PER_UNIT``: the total is a sum of unit charges, and copies may be paid for
  and issued separately), or where the province's rules allow instalments (the desk setting
  ``partial_payments``, admin only). Then any amount from 1 đồng up to what is owed is taken.
"""

from __future__ import annotations

from enum import StrEnum

from onestop.domain.catalogue import FeeBasis, format_dong
from onestop.i18n import t

__all__ = [
    "PAYMENT_METHOD_LABELS",
    "PaymentError",
    "PaymentMethod",
    "check_payment",
    "partial_allowed",
    "payment_method",
    "payment_method_label",
]


class PaymentMethod(StrEnum):
    CASH = "cash"
    TRANSFER = "transfer"
    ONLINE = "online"


PAYMENT_METHOD_LABELS: dict[PaymentMethod, str] = {
    PaymentMethod.CASH: "Tiền mặt",
    PaymentMethod.TRANSFER: "Chuyển khoản",
    PaymentMethod.ONLINE: "Thanh toán trực tuyến",
}


class PaymentError(ValueError):
    """A payment the rule refuses; ``str(e)`` is a sentence a clerk can act on."""


def payment_method_label(method: str) -> str:
    """The printed name of a payment method (an unknown old value is shown as it was stored)."""
    try:
        return t(PAYMENT_METHOD_LABELS[PaymentMethod(method)])
    except ValueError:
        return method


def payment_method(value: str | None) -> PaymentMethod:
    """A method the clerk typed (empty: cash), or ``PaymentError`` naming the choices."""
    raw = (value or "").strip().casefold()
    if not raw:
        return PaymentMethod.CASH
    try:
        return PaymentMethod(raw)
    except ValueError:
        names = ", ".join(f"{m.value} ({payment_method_label(m)})" for m in PaymentMethod)
        raise PaymentError(
            t("Hình thức nộp «{m}» không có. Chọn một trong: {names}.", m=value, names=names)
        ) from None


def partial_allowed(basis: FeeBasis | str | None, *, province_allows: bool = False) -> bool:
    """Whether a payment may be less than what is owed (see the module docstring)."""
    if province_allows:
        return True
    try:
        return basis is not None and FeeBasis(basis) == FeeBasis.PER_UNIT
    except ValueError:
        return False


def check_payment(amount: int, owed: int, *, partial: bool) -> None:
    """Refuse a payment that is not positive, exceeds ``owed`` or (unless ``partial``) is less."""
    if amount <= 0:
        raise PaymentError(t("Số tiền đã nộp phải lớn hơn 0."))
    if owed <= 0:
        raise PaymentError(t("Hồ sơ không còn khoản phí, lệ phí nào phải nộp."))
    if amount > owed:
        raise PaymentError(
            t(
                "Số tiền nộp ({amount}) lớn hơn số còn phải nộp ({owed}). Chỉ ghi nhận đúng số "
                "phải nộp; khoản thừa trả lại người nộp.",
                amount=format_dong(amount),
                owed=format_dong(owed),
            )
        )
    if amount < owed and not partial:
        raise PaymentError(
            t(
                "Phải nộp đủ một lần {owed} (đã ghi {amount}). Chỉ phí thu theo số bản, số trang "
                "hoặc khi quy định của tỉnh cho phép mới được nộp nhiều lần.",
                amount=format_dong(amount),
                owed=format_dong(owed),
            )
        )
