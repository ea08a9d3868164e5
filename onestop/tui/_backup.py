"""The desk's automatic daily backup, run from a background thread while the desk is open.

``services.backup.maybe_backup`` decides whether one is due (at most one per calendar day,
into the ``backup_dir`` desk setting; an hour's pause after a failure) and never raises for a
missing folder. The desk only asks it every ``CHECK_EVERY_S`` and tells the clerk what happened:
a success once, a failure once per distinct reason (a USB stick left at home should not bring
a notice every ten minutes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from onestop.i18n import t

if TYPE_CHECKING:
    from onestop.services.backup import BackupOutcome
    from onestop.tui.app import OnestopApp

CHECK_EVERY_S = 10 * 60.0
FIRST_CHECK_S = 30.0  # not in the first seconds: the clerk's first dossier comes first


class DailyBackup:
    def __init__(self, app: OnestopApp) -> None:
        self.app = app
        self.last_failure = ""
        self.started = False

    def start(self) -> None:
        if self.started:
            return
        self.started = True
        self.app.set_timer(FIRST_CHECK_S, self.check, name="backup-first")
        self.app.set_interval(CHECK_EVERY_S, self.check, name="backup-daily")

    def check(self) -> None:
        if self.app.desk is None:
            return
        self.app.run_worker(
            self._work,
            name="backup",
            group="backup",
            description="Sao lưu tự động",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def _work(self) -> None:
        desk = self.app.desk
        if desk is None:
            return
        from onestop.services.backup import maybe_backup

        outcome = maybe_backup(desk, self.app.now())
        self.app.call_from_thread(self.report, outcome)

    def report(self, outcome: BackupOutcome) -> None:
        if outcome.status == "done":
            self.last_failure = ""
            self.app.notify(
                t("Đã sao lưu tự động: {path}", path=outcome.path or outcome.message),
                title=t("Sao lưu"),
                markup=False,
            )
        elif outcome.status == "failed" and outcome.message != self.last_failure:
            self.last_failure = outcome.message
            self.app.notify(
                outcome.message,
                title=t("Sao lưu tự động chưa được"),
                severity="warning",
                timeout=15,
                markup=False,
            )
