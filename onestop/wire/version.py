"""The one version policy of the desk<->server protocol (issue 18).

Desks update when someone updates them: a desk offline for two months comes back to a newer
province server. Every request of a desk says which protocol it speaks in the ``Onestop-Protocol``
header, and every answer of the server says which one it speaks. The rule, here only:

* the server of protocol ``N`` serves desks of ``N``, ``N-1`` and ``N-2`` (batches, feed,
  enrollment, signed requests, reference data) — a province updates its server first, and a
  commune has two releases' time to follow;
* older desks, and desks newer than the server (the server cannot know what a later protocol
  changed), are refused with HTTP 426 and a Vietnamese sentence naming the fix: which side to
  update, to which onestop release.

Desks from before the header existed send none: they speak protocol 1, the first numbered one
(the wire format of 0.1.0 is protocol 1 unchanged).

A release that adds an event kind bumps the protocol. The province server is updated first and
refuses desks newer than itself, so it knows every kind it is sent and its projections are
always complete; desks N-1 and N-2 receive the new kind from their siblings through the feed,
store, relay and list it without folding it (domain/events.py ``unknown_kind``), and fold it
in at the first start after their own update (store/replay.py). Any other change an older
peer cannot read (a new envelope field that must be checked, a new encoding) bumps it too.

History (what each protocol added; the server keeps serving the two before it):

* 1 (0.1.0) — the wire format of the first release.
* 2 — the ack of a freshly committed batch carries the commune's **news** (ack key 6,
  wire/messages.py ``News``): the server's reference-data version and every other desk's
  acknowledged position, signed with the ack, so a desk that has nothing new to fetch skips
  the feed and reference requests (issue 19 §4). Only desks announcing 2 or more get it; a
  protocol-1 desk's acks are unchanged (it refuses an ack with an unknown key).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from onestop.i18n import t

#: The protocol this program speaks. Tests that play an older or newer peer patch this
#: attribute (read it as ``version.PROTOCOL``, never ``from ... import PROTOCOL``).
PROTOCOL = 2

#: How many protocol versions behind the server a desk may be (N-1 and N-2).
SERVER_ACCEPTS_BEHIND: Final = 2

#: Header of every request (desk) and every answer (server) of the sync API.
HEADER: Final = "Onestop-Protocol"

#: The first onestop release that speaks each protocol: what an update message names.
FIRST_RELEASE: dict[int, str] = {1: "0.1.0", 2: "0.2.0"}

#: The first protocol whose acks carry the news (key 6): the server adds it for desks
#: announcing this or newer, and a desk reads it only when it speaks this or newer.
ACK_NEWS_SINCE: Final = 2

#: A header value that is no small positive integer.
_MAX_PROTOCOL: Final = 10_000


def release_for(protocol: int) -> str:
    """The onestop release to install to speak ``protocol`` (or newer)."""
    known = FIRST_RELEASE.get(protocol)
    return known if known is not None else t("mới nhất")


def parse(value: str | None) -> int | None:
    """The protocol a peer announced; 1 when it sent none (before the header); None if junk."""
    if value is None or value == "":
        return 1
    text = value.strip()
    if not text.isdigit() or not 1 <= int(text) <= _MAX_PROTOCOL:
        return None
    return int(text)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    #: "desk_too_old" | "server_too_old" | "bad_version" | "" (ok)
    code: str = ""
    message: str = ""


def check_desk(desk: int | None, server: int | None = None) -> Verdict:
    """The server's rule for a desk announcing protocol ``desk`` (None: an unreadable header)."""
    server = PROTOCOL if server is None else server
    if desk is None:
        return Verdict(
            False,
            "bad_version",
            t(
                "Yêu cầu ghi phiên bản giao thức không hợp lệ (tiêu đề {h}). Hãy cập nhật "
                "onestop trên quầy lên phiên bản {r} trở lên.",
                h=HEADER,
                r=release_for(server),
            ),
        )
    lowest = max(1, server - SERVER_ACCEPTS_BEHIND)
    if desk < lowest:
        return Verdict(
            False,
            "desk_too_old",
            t(
                "Phần mềm trên quầy đã quá cũ (giao thức {d}); máy chủ tỉnh (giao thức {s}) chỉ "
                "nhận quầy từ giao thức {lo} trở lên. Hãy cập nhật onestop lên phiên bản {r} "
                "trở lên rồi đồng bộ lại; dữ liệu trên quầy được giữ nguyên.",
                d=desk,
                s=server,
                lo=lowest,
                r=release_for(lowest),
            ),
        )
    if desk > server:
        return Verdict(False, "server_too_old", server_too_old(desk, server))
    return Verdict(True)


def server_too_old(desk: int, server: int) -> str:
    return t(
        "Máy chủ tỉnh đang chạy phiên bản cũ hơn quầy (giao thức {s}, quầy dùng giao thức "
        "{d}). Cán bộ kỹ thuật của tỉnh cần cập nhật onestop trên máy chủ lên phiên bản {r} "
        "trở lên; quầy vẫn làm việc bình thường và tự gửi khi máy chủ đã được cập nhật.",
        s=server,
        d=desk,
        r=release_for(desk),
    )


def refusal_seen_by_desk(server_header: str | None, server_message: str) -> str:
    """What the desk tells the clerk about a 426.

    A server older than the desk cannot name the release to install: the desk can (its own).
    A newer server can, and its sentence is shown (unsigned: the worst a forger can do is ask
    for an update; nothing is held back, the next run tries again)."""
    server = parse(server_header) if server_header else None
    if server is not None and server < PROTOCOL:
        return server_too_old(PROTOCOL, server)
    return " ".join(server_message.split())[:400] or t(
        "Máy chủ tỉnh không nhận phiên bản onestop của quầy. Hãy cập nhật onestop lên phiên "
        "bản mới nhất."
    )
