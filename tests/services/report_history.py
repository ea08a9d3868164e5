"""A scripted desk history with known report answers (February-April 2026).

Every step goes through the real ``Desk`` with the clock set to the moment it happened, so the
events, due dates and projections are exactly what a clerk's desk would hold. The expected
numbers in the tests are worked out by hand from the comments below.

Procedures: 2.001035 (Chứng thực, 2 working days, 50.000 đ), 2.000884 (Chứng thực, same day
with the 15:00 cut-off, 10.000 đ), 1.004873 (Hộ tịch, 3 working days, no fixed fee).
Office hours 07:00-11:30 and 13:30-17:00 (8 h a working day); no holiday in the weeks used
after Tết (16-20/02/2026).

=====  =====================================================================================
label  story (March 2026 is the report period)
=====  =====================================================================================
A      2.001035 in person, Fri 27/02 10:00 (paid), due Tue 03/03 10:00; resolved Mon 02/03:
       carried over, early
B      2.001035 in person, Wed 25/02 08:00, due Fri 27/02 08:00; never resolved: carried over,
       open and overdue
C      2.000884 in person, Mon 23/02 09:00 (paid), resolved 16:00 the same day, returned
       24/02: finished before March, not in the March report
D      2.001035 in person, Mon 02/03 09:00 (paid), due Wed 04/03 09:00; resolved Wed 04/03
       16:00 (same date: on time); returned Thu 05/03; evaluated 5
E      2.001035 online, Tue 03/03 09:00, due Thu 05/03 09:00; paid online; extended on 03/03 to
       Tue 10/03 10:00; resolved Mon 09/03: early against the due date in force; returned
       electronically 10/03; evaluated 4
F      2.000884 by post, Thu 05/03 14:00, due 05/03 17:00; resolved Fri 06/03: late; paid
       06/03 after the decision; returned by post Mon 09/03; evaluated 2
G      1.004873 in person, Mon 09/03 09:00, due Thu 12/03 09:00; supplement requested Tue
       10/03 09:00, received Mon 16/03 09:00 (due moves by the 32 office hours paused, to
       Wed 18/03 09:00); 8.000 đ requested and paid by transfer 16/03; resolved Tue 17/03:
       early; returned 18/03; evaluated 3
H      2.001035 in person, Wed 11/03 09:00 (paid); withdrawn Thu 12/03: finished without a
       decision, counted on time
I      2.000884 refused at intake Thu 12/03: not a received dossier
N      2.000884 in person, Fri 13/03 09:00; refused after receipt 10:00: counted on time
G2     1.004873 in person, Mon 23/03 09:00, due Thu 26/03 09:00; supplement requested Tue
       24/03 and still awaited on 31/03: open, within the deadline (clock paused)
K      1.004873 in person, Mon 23/03 10:00, due Thu 26/03 10:00; forwarded, started, open on
       31/03: overdue
J      2.001035 in person, Mon 30/03 09:00 (paid), due Wed 01/04 09:00: open on 31/03, within;
       resolved and returned Thu 02/04 (after the period)
M      1.004873 in person, Fri 27/02 09:00, due Wed 04/03 09:00; resolved Thu 02/04: carried
       over into March and still open at its end, overdue
L      2.000884 in person, Wed 01/04 09:00 (paid): after the period
=====  =====================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from onestop.domain.lifecycle import Channel
from onestop.services.desk import Applicant, Desk, IntakeForm

CT, HT = "Chứng thực", "Hộ tịch"
MARCH_END = datetime(2026, 3, 31, 17, 0)  # the clock after every March step
FINAL = datetime(2026, 4, 3, 10, 0)  # the clock after every step

PEOPLE = {
    "A": ("Nguyễn Văn An", "001099012345"),
    "B": ("Trần Thị Bình", "038199012346"),
    "C": ("Lê Văn Cường", "001099012347"),
    "D": ("Phạm Thị Dung", "038199012348"),
    "E": ("Hoàng Văn Em", "001099012349"),
    "F": ("Vi Thị Phương", "038199012350"),
    "G": ("Lò Văn Giang", "001099012351"),
    "H": ("Hà Thị Hoa", "038199012352"),
    "I": ("Lương Văn Ích", "001099012353"),
    "N": ("Ngân Thị Nga", "038199012354"),
    "G2": ("Vũ Văn Giáp", "001099012355"),
    "K": ("Đặng Thị Khánh", "038199012356"),
    "J": ("Bùi Văn Jun", "001099012357"),
    "M": ("Đỗ Thị Mai", "038199012358"),
    "L": ("Hồ Văn Long", "001099012359"),
}


def at(day: int, month: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute)


# (time, label, action, params). "receive"/"refuse_intake" params: procedure, channel, paid.
STEPS: list[tuple[datetime, str, str, dict[str, Any]]] = [
    (at(23, 2, 9), "C", "receive", {"procedure": "2.000884", "paid": True}),
    (at(23, 2, 16), "C", "resolve", {}),
    (at(23, 2, 16, 10), "C", "mark_ready", {}),
    (at(24, 2, 8), "C", "return_result", {"channel": "desk"}),
    (at(25, 2, 8), "B", "receive", {"procedure": "2.001035"}),
    (at(27, 2, 9), "M", "receive", {"procedure": "1.004873"}),
    (at(27, 2, 10), "A", "receive", {"procedure": "2.001035", "paid": True}),
    (at(2, 3, 9), "D", "receive", {"procedure": "2.001035", "paid": True}),
    (at(2, 3, 14), "A", "resolve", {}),
    (at(3, 3, 9), "E", "receive", {"procedure": "2.001035", "channel": Channel.ONLINE}),
    (at(3, 3, 10), "E", "record_payment", {"method": "online"}),
    (
        at(3, 3, 15),
        "E",
        "extend",
        {"reason": "Cần xác minh thêm", "new_due": at(10, 3, 10)},
    ),
    (at(4, 3, 16), "D", "resolve", {}),
    (at(4, 3, 16, 30), "D", "mark_ready", {}),
    (at(5, 3, 9), "D", "return_result", {"channel": "desk"}),
    (at(5, 3, 9, 5), "D", "evaluate", {"scores": [2] * 9, "satisfaction": 5}),
    (at(5, 3, 14), "F", "receive", {"procedure": "2.000884", "channel": Channel.POST}),
    (at(6, 3, 10), "F", "resolve", {}),
    (at(6, 3, 10, 30), "F", "record_payment", {"method": "cash"}),
    (at(6, 3, 11), "F", "mark_ready", {}),
    (at(9, 3, 9), "F", "return_result", {"channel": "post"}),
    (
        at(9, 3, 9, 30),
        "F",
        "evaluate",
        {"scores": [0, 0, 1, 1, 2, 1, 1, 2, 0], "satisfaction": 2},
    ),
    (at(9, 3, 9), "G", "receive", {"procedure": "1.004873"}),
    (at(9, 3, 10), "E", "resolve", {}),
    (at(9, 3, 11), "E", "mark_ready", {}),
    (at(10, 3, 8), "E", "return_result", {"channel": "electronic"}),
    (
        at(10, 3, 8, 5),
        "E",
        "evaluate",
        {"scores": [2, 1, 2, 2, 2, 1, 2, 2, 2], "satisfaction": 4},
    ),
    (at(10, 3, 9), "G", "request_supplement", {"reason": "Thiếu tờ khai"}),
    (at(11, 3, 9), "H", "receive", {"procedure": "2.001035", "paid": True}),
    (at(12, 3, 10), "H", "withdraw", {"reason": "Người nộp xin rút hồ sơ"}),
    (at(12, 3, 10), "I", "refuse_intake", {"procedure": "2.000884"}),
    (at(13, 3, 9), "N", "receive", {"procedure": "2.000884"}),
    (at(13, 3, 10), "N", "refuse", {"reason": "Giấy tờ giả mạo"}),
    (at(16, 3, 9), "G", "record_supplement", {}),
    (at(16, 3, 10), "G", "request_payment", {"amount": 8000}),
    (at(16, 3, 11), "G", "record_payment", {"amount": 8000, "method": "transfer"}),
    (at(17, 3, 10), "G", "resolve", {}),
    (at(17, 3, 11), "G", "mark_ready", {}),
    (at(18, 3, 9), "G", "return_result", {"channel": "desk"}),
    (
        at(18, 3, 9, 10),
        "G",
        "evaluate",
        {"scores": [2, 2, 1, 2, 2, 2, 2, 2, 2], "satisfaction": 3},
    ),
    (at(23, 3, 9), "G2", "receive", {"procedure": "1.004873"}),
    (at(23, 3, 10), "K", "receive", {"procedure": "1.004873"}),
    (at(23, 3, 11), "K", "forward", {"to": "Công chức Tư pháp - Hộ tịch"}),
    (at(23, 3, 14), "K", "start", {}),
    (at(24, 3, 9), "G2", "request_supplement", {"reason": "Thiếu giấy tờ chứng minh"}),
    (at(30, 3, 9), "J", "receive", {"procedure": "2.001035", "paid": True}),
    (MARCH_END, "", "checkpoint", {}),
    (at(1, 4, 9), "L", "receive", {"procedure": "2.000884", "paid": True}),
    (at(2, 4, 9), "M", "resolve", {}),
    (at(2, 4, 10), "J", "resolve", {}),
    (at(2, 4, 10, 30), "J", "mark_ready", {}),
    (at(2, 4, 11), "J", "return_result", {"channel": "desk"}),
]


@dataclass
class History:
    desk: Desk
    codes: dict[str, str]


def play(
    desk: Desk,
    clock: Any,
    *,
    until: datetime | None = None,
    after: datetime | None = None,
    codes: dict[str, str] | None = None,
) -> History:
    """Run the steps in time order: those after ``after`` (all by default) up to ``until``.

    Pass the ``codes`` of an earlier partial run to carry on where it stopped.
    """
    codes = {} if codes is None else codes
    for when, label, action, params in sorted(STEPS, key=lambda s: s[0]):
        if after is not None and when <= after:
            continue
        if until is not None and when > until:
            break
        clock.now = when
        if action == "checkpoint":
            continue
        if action in ("receive", "refuse_intake"):
            name, cccd = PEOPLE[label]
            form = IntakeForm(
                procedure_code=params["procedure"],
                applicant=Applicant(
                    name=name,
                    id_number=cccd,
                    phone="0912345678",
                    address=f"Bản {label}, xã Mường Lát",
                ),
                channel=params.get("channel", Channel.IN_PERSON),
                # 1.004873's fee is set by the province: the clerk types it (0 here).
                fee_vnd=0 if params["procedure"] == "1.004873" else None,
                fee_paid_now=params.get("paid", False),
            )
            if action == "receive":
                state = desk.receive(form)
            else:
                state = desk.refuse_intake(form, "Hồ sơ không thuộc thẩm quyền")
            codes[label] = state.code
        else:
            desk.act(codes[label], action, params)
    clock.now = until or FINAL
    return History(desk, codes)
