"""Realistic demo data: a border commune desk with months of history.

Every dossier goes through the real intake and lifecycle code (same validation, same events,
same deadlines) with the clock set to the moment each step happened, so the demo database is
exactly what a desk would hold after months of work: overdue, due today, awaiting supplement,
returned, refused and withdrawn dossiers.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from onestop.domain.catalogue import FeeBasis, ProcedureInfo, clerk_sets_fee
from onestop.domain.events import EventKind
from onestop.domain.lifecycle import Channel, DossierState, Status
from onestop.domain.roles import ACTION_ROLES, Role
from onestop.i18n import t
from onestop.services.accounts import DEMO_ACCOUNTS
from onestop.services.desk import Applicant, Desk, DeskError, IntakeForm
from onestop.services.keys import DEMO_PASSPHRASE, ensure_demo_keys
from onestop.store import keyring

# Who did each step in the demo history: the demo account of the role that may do it.
_STAFF = {role: name for _user, name, role in DEMO_ACCOUNTS}


def _act_as(desk: Desk, kind: EventKind) -> None:
    role = next(r for r in (Role.CLERK, Role.SPECIALIST, Role.LEADER) if r in ACTION_ROLES[kind])
    desk.actor, desk.role = _STAFF[role], role.value


def _same_actor(desk: Desk, kind: EventKind) -> None:
    return None


def is_demo_desk(path: Path) -> bool:
    """True only for a desk ``onestop demo`` made: its keyring is flagged demo AND the public
    demo admin password opens it. The flag alone is unauthenticated, so it is not enough: a real
    desk (plain, or with accounts of its own) is never taken for a demo and never replaced."""
    from onestop.paths import keyring_path

    ring = keyring_path(path)
    try:
        data = ring.read_bytes()
    except OSError:
        return False
    admin = next(name for name, _display, role in DEMO_ACCOUNTS if role is Role.ADMIN)
    if not keyring.is_demo(data):
        return False
    try:
        keyring.unlock(data, admin, DEMO_PASSPHRASE)
    except keyring.KeyringError:
        return False
    return True


def remove_demo_desk(path: Path) -> None:
    """Delete a demo desk (database, WAL files, keyring, demo keys) before making a new one."""
    import shutil

    from onestop.services.keys import keys_dir

    if not is_demo_desk(path):
        raise DeskError(t("{path} không phải quầy mẫu: không xóa.", path=path))
    for suffix in ("", "-wal", "-shm", ".keyring"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    shutil.rmtree(keys_dir(path), ignore_errors=True)


def write_demo_keyring(path: Path, now: datetime) -> bytes:
    """The demo desk's keyring: one account per role, all with password ``DEMO_PASSPHRASE``."""
    data_key = keyring.new_data_key()
    first, *rest = DEMO_ACCOUNTS
    data = keyring.create_keyring(
        data_key,
        username=first[0],
        display_name=first[1],
        roles=(first[2].value,),
        password=DEMO_PASSPHRASE,
        now=now,
    )
    for username, name, role in rest:
        data = keyring.add_account(
            data,
            data_key,
            username=username,
            display_name=name,
            roles=(role.value,),
            password=DEMO_PASSPHRASE,
            now=now,
        )
    keyring.write_keyring(keyring.keyring_path(path), keyring.mark_demo(data))
    return data_key


DEMO_UNIT = "000.00.14.H56"
DEMO_COMMUNE = ("16279", "Xã Mường Lát", "38")

FAMILY = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Vi",
    "Lò",
    "Hà",
    "Lương",
    "Ngân",
    "Phạm",
    "Vũ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
]
MIDDLE_M = ["Văn", "Đức", "Minh", "Quang", "Hữu", "Thành", "Công", "Xuân"]
MIDDLE_F = ["Thị", "Thị", "Ngọc", "Thu", "Thanh", "Phương", "Hồng"]
GIVEN_M = [
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Hùng",
    "Khánh",
    "Lâm",
    "Nam",
    "Phúc",
    "Quân",
    "Sơn",
    "Tuấn",
    "Việt",
    "Đạt",
    "Thắng",
]
GIVEN_F = [
    "Anh",
    "Chi",
    "Dung",
    "Giang",
    "Hà",
    "Hương",
    "Lan",
    "Linh",
    "Mai",
    "Ngọc",
    "Oanh",
    "Thảo",
    "Trang",
    "Yến",
    "Xuân",
]
VILLAGES = [
    "Bản Pù Quăn",
    "Bản Lát",
    "Bản Đoàn Kết",
    "Bản Mường Lát",
    "Bản Tà Cóm",
    "Khu phố 1",
    "Khu phố 2",
    "Bản Na Khà",
]

# Weighted by how often a commune desk sees them (chứng thực dominates).
PROCEDURES = [
    ("2.000815", 22),
    ("2.000884", 14),
    ("2.001035", 8),
    ("1.001193", 8),
    ("1.004873", 7),
    ("1.000656", 4),
    ("1.000894", 4),
    ("2.000635", 6),
    ("1.004222", 5),
    ("1.004194", 6),
    ("1.004859", 3),
    ("2.001019", 2),
    ("1.001612", 3),
    ("1.004837", 1),
]
HANDLERS = [
    "Công chức Tư pháp - Hộ tịch",
    "Công an xã",
    "Công chức Văn phòng - Thống kê",
    "Công chức Địa chính",
]
SUPPLEMENT_REASONS = [
    "Thiếu bản sao Giấy xác nhận tình trạng hôn nhân.",
    "Tờ khai chưa có chữ ký của người yêu cầu.",
    "Giấy tờ chứng minh chỗ ở hợp pháp chưa hợp lệ.",
]
REFUSAL_REASONS = [
    "Hồ sơ không thuộc thẩm quyền giải quyết của UBND xã.",
    "Bản chính giấy tờ đã bị tẩy xóa, sửa chữa nội dung.",
]


def demo_fee(proc: ProcedureInfo) -> int | None:
    """The amount a demo clerk types where the catalogue fixes none (``None``: the catalogue's).

    Intake refuses such a procedure without the clerk's amount (services/desk.py)."""
    basis = proc.fee_basis
    if not clerk_sets_fee(basis):
        return None
    if basis == FeeBasis.PER_UNIT:
        return 2 * (proc.fee_vnd or 2_000)  # two copies / pages
    if basis == FeeBasis.PROVINCIAL:
        return 15_000
    return 0  # exempt (on time) or no amount known


def _person(rng: random.Random, now: datetime) -> Applicant:
    female = rng.random() < 0.5
    name = " ".join(
        (
            rng.choice(FAMILY),
            rng.choice(MIDDLE_F if female else MIDDLE_M),
            rng.choice(GIVEN_F if female else GIVEN_M),
        )
    )
    year = rng.randint(1950, now.year - 18)
    century_digit = (0 if year < 2000 else 2) + (1 if female else 0)
    place = rng.choice(["038", "038", "038", "040", "001", "014"])
    cccd = f"{place}{century_digit}{year % 100:02d}{rng.randint(0, 999999):06d}"
    phone = (
        "0" + rng.choice(["9", "8", "3", "7"]) + "".join(str(rng.randint(0, 9)) for _ in range(8))
    )
    address = f"{rng.choice(VILLAGES)}, {DEMO_COMMUNE[1]}, tỉnh Thanh Hóa"
    return Applicant(name=name, id_number=cccd, phone=phone, address=address)


def _office_moment(rng: random.Random, desk: Desk, day: datetime) -> datetime:
    """A random moment during office hours of a working day on or before ``day``."""
    d = day.date()
    while not desk.calendar.is_working_day(d):
        d -= timedelta(days=1)
    start, end = rng.choice(desk.calendar.hours.sessions)
    span = (datetime.combine(d, end) - datetime.combine(d, start)).seconds // 60
    return datetime.combine(d, start) + timedelta(minutes=rng.randrange(max(span - 5, 1)))


def build_demo(
    path: Path,
    *,
    dossiers: int = 300,
    seed: int = 2026,
    now: datetime,
    days: int = 150,
    progress: Callable[[int, int], None] | None = None,
    chunk: int = 500,
    encrypted: bool = False,
) -> dict[str, Any]:
    """Create a demo desk at ``path`` with ``dossiers`` dossiers received over the past ``days``.

    ``encrypted``: an SQLCipher desk with a keyring of demo accounts (``DEMO_ACCOUNTS``, password
    ``DEMO_PASSPHRASE``), as ``onestop demo`` makes it.
    """
    rng = random.Random(seed)
    clock_value = [now]
    key = write_demo_keyring(path, now) if encrypted else None
    # The encrypted demo names the staff member of each step (its accounts log in); the plain
    # one keeps one clerk for everything, as the UI snapshots expect.
    act_as = _act_as if encrypted else _same_actor
    desk = Desk.initialise(
        path,
        unit_eid=DEMO_UNIT,
        commune_code=DEMO_COMMUNE[0],
        commune_name=DEMO_COMMUNE[1],
        province_code=DEMO_COMMUNE[2],
        desk_no=1,
        desk_name="Quầy 1",
        clock=lambda: clock_value[0],
        actor="Lò Thị Mai",
        role="clerk",
        key=key,
    )
    codes = [c for c, _ in PROCEDURES]
    weights = [w for _, w in PROCEDURES]
    fees = {c: demo_fee(desk.procedure(c, day=now.date())) for c in codes}
    # Received times in increasing order, like a real desk; the newest ones land today.
    moments = sorted(
        _office_moment(
            rng, desk, now - timedelta(days=days * (1 - (i / max(dossiers - 1, 1))) ** 1.5)
        )
        for i in range(dossiers)
    )
    moments = [min(m, now - timedelta(minutes=1)) for m in moments]
    stats: dict[str, int] = {}
    try:
        for start in range(0, dossiers, chunk):
            with desk.store.write() as db:
                for i in range(start, min(start + chunk, dossiers)):
                    received = moments[i]
                    clock_value[0] = received
                    proc = rng.choices(codes, weights)[0]
                    person = _person(rng, now)
                    channel = rng.choices(list(Channel), [70, 22, 8])[0]
                    form = IntakeForm(
                        procedure_code=proc,
                        applicant=person,
                        channel=channel,
                        received_at=received,
                        fee_vnd=fees[proc],
                    )
                    act_as(desk, EventKind.RECEIVE)
                    if rng.random() < 0.03:
                        st = desk.refuse_intake_in(db, form, rng.choice(REFUSAL_REASONS))
                    else:
                        form.fee_paid_now = rng.random() < 0.8
                        st = desk.receive_in(db, form)
                        st = _progress(desk, db, st, rng, now, clock_value, act_as)
                    stats[st.status.value] = stats.get(st.status.value, 0) + 1
                if progress:
                    progress(min(start + chunk, dossiers), dossiers)
        # Demo keys (passphrase "onestop-demo"): the demo desk signs real receipts out of the box.
        ensure_demo_keys(desk)
        _demo_signing(desk)
        desk.set_setting("demo", "1")
    finally:
        clock_value[0] = now
        desk.close()
    out: dict[str, Any] = {"db": str(path), "dossiers": dossiers, "by_status": stats}
    if encrypted:
        out["accounts"] = [
            {"username": u, "name": n, "role": r.value, "password": DEMO_PASSPHRASE}
            for u, n, r in DEMO_ACCOUNTS
        ]
    return out


def _demo_signing(desk: Desk) -> None:
    """Officials' PDF signing keys (services/signing.py): the demo staff sign their slips and
    results out of the box. The leader, head of the unit (apology letter, stop notice), signs
    with a key on a SoftHSM2 token when it is installed; the others with software keys."""
    from onestop.crypto.token import TokenError
    from onestop.services import signing

    people = [(name, signing.DEMO_TITLES[role.value]) for _u, name, role in DEMO_ACCOUNTS]
    signing.ensure_head_of_unit(desk, _STAFF[Role.LEADER])
    try:
        signing.ensure_demo_signing(desk, people, on_token=[_STAFF[Role.LEADER]])
    except (TokenError, signing.SigningError):
        # A SoftHSM2 that misbehaves must not cost the demo its signatures: software keys.
        signing.ensure_demo_signing(desk, people, use_token=False)


def _progress(
    desk: Desk,
    db: Any,
    st: DossierState,
    rng: random.Random,
    now: datetime,
    clock: list[datetime],
    act_as: Callable[[Desk, EventKind], None],
) -> DossierState:
    """Walk a fresh dossier through the steps that would have happened by ``now``."""
    t = st.received_at

    def step(kind: EventKind, minutes: float, **params: Any) -> bool:
        nonlocal t, st
        nxt = t + timedelta(minutes=max(minutes, 1))
        if nxt >= now:
            return False
        t = nxt
        clock[0] = t
        act_as(desk, kind)
        try:
            st = desk.act_in(db, st.code, kind, params)
        except DeskError:
            return False
        return True

    due = st.due_at
    # How much of the legal time the work takes: most early, some late.
    total = (due - st.received_at).total_seconds() / 60 if due else 60 * 24 * 3
    pace = rng.choices([0.3, 0.7, 1.0, 1.6], [45, 35, 10, 10])[0]
    if not step(EventKind.FORWARD, 10, to=rng.choice(HANDLERS)):
        return st
    if not step(EventKind.START, 30):
        return st
    # Some recent dossiers stall with a specialist: they become the dashboard's overdue work.
    if (now - st.received_at).days < 30 and rng.random() < 0.2:
        return st
    r = rng.random()
    if r < 0.03:
        step(
            EventKind.WITHDRAW,
            total * 0.2,
            reason="Công dân đề nghị rút hồ sơ để bổ sung giấy tờ khác.",
        )
        return st
    if r < 0.12:
        if not step(
            EventKind.REQUEST_SUPPLEMENT, total * 0.2, reason=rng.choice(SUPPLEMENT_REASONS)
        ):
            return st
        if rng.random() < 0.3 or not step(EventKind.RECORD_SUPPLEMENT, 60 * 24 * rng.uniform(1, 6)):
            return st
    if due and r > 0.95 and st.extension_count == 0:
        new_due = due + timedelta(days=3)
        while not desk.calendar.is_working_day(new_due.date()):
            new_due += timedelta(days=1)
        step(
            EventKind.EXTEND,
            total * 0.3,
            reason="Cần xác minh thêm thông tin với cơ quan liên quan.",
            new_due=new_due,
        )
    if st.fee_paid < st.fee_vnd and st.status == Status.PROCESSING:
        if not step(EventKind.REQUEST_PAYMENT, 30) or not step(EventKind.RECORD_PAYMENT, 60 * 3):
            return st
    decision = "denied" if rng.random() < 0.04 else "approved"
    reason = "Không đủ điều kiện theo quy định." if decision == "denied" else ""
    if not step(EventKind.RESOLVE, total * pace * 0.8, decision=decision, reason=reason):
        return st
    if not step(EventKind.MARK_READY, 20):
        return st
    channel = rng.choices(["desk", "post", "electronic"], [80, 10, 10])[0]
    if not step(EventKind.RETURN_RESULT, rng.uniform(10, 60 * 24 * 2), channel=channel):
        return st
    if rng.random() < 0.4:
        scores = [rng.choice([1, 2, 2]) for _ in range(9)]
        step(EventKind.EVALUATE, 5, scores=scores, satisfaction=rng.choice([5, 5, 4, 4, 3]))
    return st


__all__ = ["build_demo"]
