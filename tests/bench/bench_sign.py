"""PAdES signing benchmark: time and bytes added per slip, software key and SoftHSM2 token.

Run:  .venv/bin/python -m tests.bench.bench_sign [--rounds 5]

Builds a throwaway desk with one dossier per slip kind, gives the clerk and the head of unit
a software key and (when SoftHSM2 is installed) a key generated on a SoftHSM2 token, then signs
each slip kind ``--rounds`` times with each. Prints one table: the median signing time (the
PAdES step only: field, signature, appearance, self-check; the slip rendering is reported
apart), the bytes the signature adds to the slip, and the verification time. The first
signature of a process also pays pyHanko's import and the font preparation; that one-off cost
is printed on its own line.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from onestop.domain.events import EventKind
from onestop.forms.slips import SlipKind
from onestop.services import keys as keys_svc
from onestop.services import receipts as rc
from onestop.services import signing
from onestop.services.desk import S_HEAD_OF_UNIT, Applicant, Desk, IntakeForm

NOW = datetime(2026, 11, 20, 10, 0)
CLERK, HEAD = "Lò Thị Mai", "Phạm Văn Sơn"


def _desk(path: Path) -> Desk:
    return Desk.initialise(
        path,
        unit_eid="000.00.14.H56",
        commune_code="16279",
        commune_name="Xã Mường Lát",
        province_code="38",
        desk_no=1,
        clock=lambda: NOW,
        actor=CLERK,
    )


def _form() -> IntakeForm:
    return IntakeForm(
        procedure_code="2.001035",
        applicant=Applicant(name="Nguyễn Văn An", id_number="001099012345"),
    )


def _codes(desk: Desk) -> dict[SlipKind, str]:
    received = desk.receive(_form()).code
    supplement = desk.receive(_form()).code
    desk.act(supplement, EventKind.REQUEST_SUPPLEMENT, {"reason": "Bản sao căn cước"})
    refused = desk.refuse_intake(_form(), "Không thuộc thẩm quyền").code
    extended = desk.receive(_form()).code
    desk.act(extended, EventKind.EXTEND, {"reason": "Xác minh", "new_due": datetime(2026, 12, 1)})
    withdrawn = desk.receive(_form()).code
    desk.act(withdrawn, EventKind.WITHDRAW, {"reason": "Rút hồ sơ"})
    return {
        SlipKind.RECEIPT: received,
        SlipKind.SUPPLEMENT: supplement,
        SlipKind.REFUSAL: refused,
        SlipKind.APOLOGY: extended,
        SlipKind.STOP: withdrawn,
        SlipKind.CONTROL: received,
    }


def _measure(desk: Desk, codes: dict[SlipKind, str], rounds: int) -> list[tuple[str, ...]]:
    from onestop.forms.slips import render_slip_document

    rows: list[tuple[str, ...]] = []
    for kind, code in codes.items():
        state = desk.get(code)
        doc = render_slip_document(
            kind,
            state,
            desk.history(code),
            desk.identity,
            now=NOW,
            head_of_unit=desk.setting(S_HEAD_OF_UNIT),
        )
        sign_s, verify_s, added = [], [], 0
        for _ in range(rounds):
            t0 = time.perf_counter()
            done = signing.sign_slip_document(desk, doc, kind, signing.demo_secret)
            sign_s.append(time.perf_counter() - t0)
            assert done.signed, done.reason
            added = len(done.pdf) - len(doc.pdf)
            t0 = time.perf_counter()
            report = signing.verify_document(done.pdf, desk)
            verify_s.append(time.perf_counter() - t0)
            assert report.exit_code == 0, report.detail
        rows.append(
            (
                kind.value,
                f"{len(doc.pdf):,}",
                f"{statistics.median(sign_s) * 1000:.0f}",
                f"{added:,}",
                f"{statistics.median(verify_s) * 1000:.0f}",
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("ONESTOP_SCRYPT_N", "1024")
    table: list[tuple[str, ...]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for variant in ("software", "softhsm2"):
            folder = Path(tmp) / variant
            folder.mkdir()
            desk = _desk(folder / "desk.sqlite")
            try:
                keys_svc.ensure_demo_keys(desk)
                desk.set_setting(S_HEAD_OF_UNIT, HEAD)
                on_token = [CLERK, HEAD] if variant == "softhsm2" else []
                if on_token and signing.softhsm_module() is None:
                    print("softhsm2: not installed, skipped")  # noqa: T201
                    continue
                made = signing.ensure_demo_signing(
                    desk, [(CLERK, "Công chức"), (HEAD, "Chủ tịch UBND xã")], on_token=on_token
                )
                assert {o.kind for o in made} == {"token" if on_token else "software"}
                codes = _codes(desk)
                t0 = time.perf_counter()
                rc.render_signed_slip(
                    desk, codes[SlipKind.CONTROL], SlipKind.CONTROL, None,
                    pdf_secret=signing.demo_secret,
                )  # fmt: skip
                first = time.perf_counter() - t0
                print(f"{variant}: first slip of the process, render + sign: {first:.2f} s")  # noqa: T201
                table += [(variant, *row) for row in _measure(desk, codes, args.rounds)]
            finally:
                desk.close()
    head = ("key", "slip", "slip bytes", "sign ms", "bytes added", "verify ms")
    widths = [max(len(str(r[i])) for r in [head, *table]) for i in range(len(head))]
    for row in [head, tuple("-" * w for w in widths), *table]:
        print(" | ".join(str(c).rjust(w) for c, w in zip(row, widths, strict=True)))  # noqa: T201


if __name__ == "__main__":
    main()
