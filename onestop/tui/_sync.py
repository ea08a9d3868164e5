"""The desk's background sync: when it runs, running it off the UI thread, and plain words.

When: at start-up, then every ``interval`` seconds (setting ``sync_interval``, default 60)
while the server answers; after a failure the wait doubles each time up to 15 minutes (with
jitter, so the desks of a province do not all come back at the same second); right after a
local write when the last run reached the server; and on demand (F12, the palette, the sync
screen). Only an enrolled desk syncs, and only with its key unlocked (``SessionKey``).

How: one thread worker (exclusive, group ``sync``) runs ``services.sync.sync_once``, which runs
its own event loop, so neither the network nor the SQLite work of a 7,500-event backlog touches
the UI thread. The worker reports through ``SyncRan`` and the app reads the recorded state back
(``SyncStateLoaded``) for every desk bar. ``services.sync`` holds a per-database file lock, so
a CLI ``onestop sync`` or a second browser tab never runs at the same time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from textual.timer import Timer

from onestop.i18n import t, tn
from onestop.services.base import DeskError
from onestop.tui.messages import SyncRan, SyncState

if TYPE_CHECKING:  # httpx and the sync protocol load on the first run, not at desk start
    from onestop.services.desk import Desk
    from onestop.services.sync.base import SyncOptions, SyncReport
    from onestop.tui.app import OnestopApp

MAX_BACKOFF_S = 15 * 60.0
OFFLINE_ALERTS = ("warn", "blocked", "unlocked")  # services.lockdown.OfflineLevel values

# A desk's run gives up quickly when the link is down: the desk's own schedule retries later,
# and a clerk pressing F12 wants an answer in seconds, not after sync's six-attempt backoff.


def desk_options() -> SyncOptions:
    from onestop.services.sync.base import SyncOptions

    return SyncOptions(
        timeout=30.0, connect_timeout=5.0, max_attempts=3, base_delay=0.5, max_delay=4.0
    )


def next_delay(interval: float, failures: int, rng: random.Random) -> float:
    """Seconds until the next automatic run: ``interval`` while all is well, then doubling per
    consecutive failure up to 15 minutes (or ``interval`` if longer), with 25% jitter."""
    if failures <= 0:
        return interval
    cap = max(interval, MAX_BACKOFF_S)
    return float(min(interval * 2**failures, cap) * rng.uniform(0.75, 1.0))


# ---------------------------------------------------------------------------------- plain words


@dataclass(frozen=True)
class Explained:
    short: str  # a few words for the desk bar
    what: str  # what happened, one sentence
    todo: str  # what the clerk can do


def explain(error: str) -> Explained:
    """An error of a sync run (``SyncReport.error`` or a ``SyncError``) in plain words.

    The texts come from ``services.sync`` in the language of the moment; they are matched on the
    same ``t()`` phrases, and anything unknown is shown as it is with generic advice.
    """

    def has(*phrases: str) -> bool:
        return any(t(p).lower() in error.lower() for p in phrases)

    if has("không kết nối được"):
        return Explained(
            t("mất kết nối"),
            t("Không liên lạc được máy chủ tỉnh."),
            t(
                "Kiểm tra mạng (cáp, Wi-Fi, 3G/4G). Quầy vẫn làm việc bình thường; "
                "sự kiện được giữ lại và tự gửi khi có mạng."
            ),
        )
    if has("hết thời gian chờ"):
        return Explained(
            t("mạng quá chậm"),
            t("Máy chủ tỉnh không trả lời kịp: đường truyền quá chậm hoặc chập chờn."),
            t("Không cần làm gì: quầy sẽ thử lại, gửi từng lô nhỏ hơn."),
        )
    if has("phản hồi không phải xác nhận hợp lệ", "Gói sự kiện không dành cho quầy này"):
        return Explained(
            t("mạng chặn"),
            t(
                "Mạng trả về một trang không phải của máy chủ tỉnh (Wi-Fi công cộng đòi "
                "đăng nhập, hoặc proxy chặn)."
            ),
            t("Mở trình duyệt để đăng nhập mạng Wi-Fi, hoặc dùng mạng khác; rồi Đồng bộ ngay."),
        )
    if has("Một phiên đồng bộ khác"):
        return Explained(
            t("đang bận"),
            t("Một phiên đồng bộ khác của quầy này đang chạy (lệnh onestop sync, tab khác)."),
            t("Không cần làm gì: chờ phiên kia xong."),
        )
    if has("Cần mật khẩu khóa ký", "khóa ký"):
        return Explained(
            t("cần mật khẩu"),
            t("Cần mở khóa ký của quầy để ký các lô gửi lên tỉnh."),
            t("Nhập mật khẩu khóa ký (F6 trên màn hình đồng bộ); chỉ hỏi một lần mỗi phiên."),
        )
    if has("bản sao lưu", "rẽ nhánh", "chuỗi băm"):
        return Explained(
            t("lịch sử lệch"),
            t(
                "Lịch sử sự kiện của quầy khác với bản máy chủ tỉnh đang giữ (thường do khôi "
                "phục từ bản sao lưu cũ). Quầy đã dừng gửi để không mất dữ liệu."
            ),
            t("Liên hệ cán bộ tỉnh; không xóa hay khôi phục gì thêm trên máy này."),
        )
    if has("Máy chủ từ chối"):
        return Explained(
            t("bị từ chối"),
            t("Máy chủ tỉnh từ chối quầy này: {error}", error=error),
            t("Liên hệ cán bộ tỉnh: quầy có thể đã bị thu hồi hoặc cần đăng ký lại."),
        )
    if has("chưa đăng ký", "onestop enroll"):
        return Explained(
            t("chưa đăng ký"),
            t("Quầy chưa đăng ký với máy chủ tỉnh."),
            t("Chạy «onestop enroll --server URL --code MÃ» với mã do tỉnh cấp."),
        )
    if error.startswith("HTTP 5") or has("không phản hồi đúng"):
        return Explained(
            t("máy chủ lỗi"),
            t("Máy chủ tỉnh đang gặp sự cố ({error}).", error=error),
            t("Không cần làm gì: quầy sẽ thử lại sau."),
        )
    return Explained(
        t("lỗi"),
        error,
        t("Quầy sẽ thử lại sau; nếu lỗi lặp lại nhiều lần, báo cán bộ tỉnh."),
    )


def relative_vi(when: datetime | None, now: datetime) -> str:
    """ "vừa xong", "5 phút trước", "3 giờ trước", "hôm qua", "4 ngày trước" (or the date)."""
    if when is None:
        return t("chưa bao giờ")
    seconds = (now - when).total_seconds()
    if seconds < 60:
        return t("vừa xong")
    if seconds < 3600:
        return t("{n} phút trước", n=int(seconds // 60))
    if when.date() == now.date():
        return t("{n} giờ trước", n=int(seconds // 3600))
    days = (now.date() - when.date()).days
    if days == 1:
        return t("hôm qua")
    if days < 30:
        return tn("{n} ngày trước", days)
    return when.strftime("%d/%m/%Y")


# ---------------------------------------------------------------------------------- the runner


class DeskSync:
    """Schedules and runs the desk's sync; owned by the app, one per desk process."""

    def __init__(
        self,
        app: OnestopApp,
        interval: float,
        *,
        options: SyncOptions | None = None,
        seed: int | None = None,
    ) -> None:
        self.app = app
        self.interval = interval
        self.options = options  # None: desk_options(), built on the first run
        self.rng = random.Random(seed)
        self.running = False
        self.pending = False
        self.failures = 0
        self.online = False  # the last run of this session reached the server
        self.session_error = ""  # why the last attempt could not even start ("" if it ran)
        self.needs_passphrase = False
        self.next_at: datetime | None = None
        self._timer: Timer | None = None
        self._asked = False
        self._offline_told = ""

    # ------------------------------------------------------------------ scheduling

    def start(self) -> None:
        """Begin the schedule with a first run right away (the clerk wants to know now)."""
        self.schedule(0.0)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def schedule(self, delay: float) -> None:
        self.stop()
        self.next_at = None
        if self.app.desk is None:
            return
        self.next_at = self.app.now() + timedelta(seconds=max(delay, 0.0))
        if delay <= 0:
            self.app.call_later(self._due)  # a 0 s Timer divides by its interval
        else:
            self._timer = self.app.set_timer(delay, self._due, name="sync-schedule")

    def _due(self) -> None:
        self._timer = None
        self.run_now()

    def local_write(self) -> None:
        """A dossier changed here: send it at once if the province is reachable."""
        if self.online:
            self.run_now()

    def run_now(self) -> None:
        desk = self.app.desk
        if desk is None:
            return
        if self.running:
            self.pending = True  # one more run right after this one, not one per write
            return
        self.running = True
        self.pending = False
        self.app.refresh_sync()
        self.app.run_worker(
            self._work,
            name="sync",
            group="sync",
            description="Đồng bộ với máy chủ tỉnh",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    # ------------------------------------------------------------------ the run (a thread)

    def _work(self) -> None:
        desk = self.app.desk
        assert desk is not None
        report: SyncReport | None = None
        error = ""
        enrolled = False
        from onestop.services.sync.client import sync_once
        from onestop.services.sync.status import sync_status

        try:
            enrolled = sync_status(desk).enrolled
            if enrolled:
                signer = self.app.keyring.automatic(desk)
                if signer is None:
                    error = t("Cần mật khẩu khóa ký của quầy để đồng bộ.")
                else:
                    report = sync_once(desk, signer=signer, options=self.options or desk_options())
        except DeskError as e:  # SyncError and friends: the desk is not ready, or refused
            error = str(e)
        self.app.post_message(SyncRan(report, error, enrolled))

    # ------------------------------------------------------------------ after a run (UI)

    def finished(self, message: SyncRan) -> None:
        self.running = False
        report = message.report
        self.session_error = message.error
        self.needs_passphrase = (
            bool(message.error) and message.enrolled and self.app.keyring.signer is None
        )
        if not message.enrolled:
            self.online = False
            self.failures = 0
            self.schedule(self.interval)  # enrolling from the CLI is noticed at the next tick
        elif report is not None and report.ok:
            self.online = True
            self.failures = 0
            self.schedule(0.0 if self.pending else self.interval)
        elif self.needs_passphrase:
            self.online = False
            self.stop()  # nothing to retry until someone types the passphrase
            if not self._asked:
                self._asked = True
                self.app.notify(
                    t(
                        "Nhập mật khẩu khóa ký để quầy tự đồng bộ với tỉnh: "
                        "Ctrl+P rồi gõ «mở khóa ký»."
                    ),
                    title=t("Đồng bộ"),
                    severity="warning",
                    timeout=10,
                    markup=False,
                )
        else:
            self.online = False
            self.failures += 1
            self.schedule(next_delay(self.interval, self.failures, self.rng))
        self.pending = False
        self.app.refresh_sync()

    def unlocked(self) -> None:
        """The passphrase was typed: sync now if the schedule was waiting for it."""
        if self.needs_passphrase:
            self.needs_passphrase = False
            self.session_error = ""
            self.run_now()

    # ------------------------------------------------------------------ the state to show

    def read_state(self, desk: Desk) -> SyncState:
        """What the desk bars show (called in a thread worker: reads a few Settings rows)."""
        from onestop.services.lockdown import offline_state
        from onestop.services.sync.files import files_queue
        from onestop.services.sync.status import sync_status

        status = sync_status(desk)
        files = files_queue(desk)
        error = self.session_error or status.last_error
        offline = offline_state(desk, self.app.now())
        return SyncState(
            last_sync_at=status.last_attempt_at.isoformat() if status.last_attempt_at else "",
            waiting=status.waiting,
            enrolled=status.enrolled,
            running=self.running,
            last_ok_at=status.last_ok_at,
            error=error if status.enrolled else "",
            skew_flagged=status.skew_flagged,
            needs_passphrase=self.needs_passphrase,
            offline_level=offline.level.value,
            offline_days=offline.days_offline,
            offline_message=offline.message,
            files_waiting=files.files,
            files_bytes=files.bytes_left,
        )

    def state_shown(self, state: SyncState) -> None:
        """Past the offline warning or block limit: say so once per level and session."""
        if state.offline_level in OFFLINE_ALERTS and state.offline_level != self._offline_told:
            self.app.notify(
                state.offline_message,
                title=t("Lâu chưa đồng bộ"),
                severity="error" if state.offline_level == "blocked" else "warning",
                timeout=20,
                markup=False,
            )
        self._offline_told = state.offline_level
