"""Pydantic models of the web JSON API (they are what the OpenAPI document shows)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ErrorOut(BaseModel):
    error: str = Field(description="Stable error code, e.g. `bad_receipt`, `rate_limited`.")
    message: str = Field(description="Human-readable reason (Vietnamese).")


class TrustEntryOut(BaseModel):
    kid: str = Field(description="Key id: first 8 bytes of SHA-256 of the public key, hex.")
    alg: int = Field(description="COSE algorithm: -7 ES256 (P-256), -8 EdDSA (Ed25519).")
    public_key: str = Field(
        description="base64url: uncompressed P-256 point (65 B) or raw Ed25519 key (32 B)."
    )
    commune: str
    unit_eid: str = Field(description="Unit electronic ID that prefixes the dossier codes.")
    desk_label: str
    valid_from: int = Field(description="Epoch seconds.")
    valid_to: int | None = None
    revoked_at: int | None = Field(
        None,
        description="Effective revocation time (trust list and server revocations): receipts "
        "whose signed received time is at or after it are refused.",
    )


class TrustKeysOut(BaseModel):
    province: str
    version: int = Field(description="Trust list version published by the province.")
    issued_at: int
    items: list[TrustEntryOut]


class TrustPageOut(TrustKeysOut):
    page: int
    per_page: int
    total: int


class ReceiptQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    receipt: str = Field(
        min_length=1,
        max_length=3000,
        description="The signed receipt: the digits after `#` in the QR link `https://…/r1#…`.",
    )


class ReceiptStatusOut(BaseModel):
    verdict: str = Field(description="Always `valid` (invalid receipts get a 4xx).")
    code: str = Field(description="Dossier code.")
    commune: str
    commune_name: str | None = Field(None, description="The commune's name, if known.")
    procedure: str = Field("", description="Procedure code, as on the receipt.")
    procedure_name: str | None = Field(
        None, description="The procedure's name in the published catalogue (None: not in it)."
    )
    known: bool = Field(description="Whether the province has received this dossier yet.")
    status: str | None = Field(None, description="Lifecycle status code, e.g. `processing`.")
    status_label: str | None = None
    message: str = Field(description="The status in plain Vietnamese words.")
    appointment: str | None = Field(None, description="Appointment (local time, ISO 8601).")
    finished_at: str | None = None
    updated_at: str | None = Field(None, description="Time of the last recorded step.")
    desk_last_sync: str | None = Field(None, description="Last contact of the signing desk.")
    anchored: bool = Field(description="The receipt's intake event is in the provincial log.")


class PeriodOut(BaseModel):
    from_: str = Field(alias="from")
    to: str

    model_config = ConfigDict(populate_by_name=True)


class Bieu06CountsOut(BaseModel):
    received: int = Field(description="(3) received = (4) + (5) + (6)")
    online: int = Field(description="(4) new online")
    direct: int = Field(description="(5) new in person or by post")
    carried: int = Field(description="(6) carried over from before the period")
    resolved: int = Field(description="(7) resolved = (8) + (9) + (10)")
    early: int = Field(description="(8) before the due date")
    on_time: int = Field(description="(9) on the due date")
    late: int = Field(description="(10) after the due date")
    pending: int = Field(description="(11) in progress = (12) + (13)")
    within: int = Field(description="(12) within the deadline")
    overdue: int = Field(description="(13) overdue")
    stopped: int = Field(description="part of (9): withdrawn or refused after receipt")


class Bieu06RowOut(BaseModel):
    field: str
    counts: Bieu06CountsOut


class Bieu06Out(BaseModel):
    commune: str
    name: str
    period: PeriodOut
    field: str | None
    rows: list[Bieu06RowOut]
    total: Bieu06CountsOut


class CommuneOut(BaseModel):
    rank: int
    commune: str
    name: str
    desks: int
    received: int
    online: int
    direct: int
    carried: int
    resolved: int
    early: int
    on_time: int
    late: int
    pending: int
    overdue: int = Field(description="In progress and past the due date, as of today.")
    on_time_rate: float | None = Field(None, description="(8 + 9) / 7, 0..1")
    online_share: float | None = Field(None, description="4 / (4 + 5), 0..1")
    satisfaction: float | None = Field(None, description="Evaluations at level 4 or 5, 0..1")
    evaluations: int
    last_sync: str | None = Field(None, description="Last contact of any desk (local time).")
    stale: bool = Field(description="No sync for more than `stale_days` days.")
    events_pending: int | None = Field(
        None, description="Events not yet received, when the desks report it (unknown: null)."
    )


class CommunePageOut(BaseModel):
    period: PeriodOut
    field: str | None
    stale_days: int
    page: int
    per_page: int
    total: int
    items: list[CommuneOut]
