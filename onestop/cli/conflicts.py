"""Conflicting concurrent actions of two desks (services/sync/conflicts.py).

onestop conflicts [--all] [--json]     the unacknowledged ones (--all: every one)
onestop conflicts ack ID               acknowledge one on this desk (a conflict_seen event)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from onestop.cli._common import Refused, db_option, emit, guard, json_option, open_desk
from onestop.domain.lifecycle import action_label, status_label
from onestop.i18n import t


def _as_dict(c: Any) -> dict[str, Any]:
    set_aside = {tuple(r) for r in c.set_aside}
    return {
        "id": c.id,
        "dossier": c.dossier,
        "detected_at": c.detected_at.isoformat(timespec="minutes"),
        "detected_by": c.detected_by,
        "actions": [
            {
                "desk": e.desk_id,
                "seq": e.seq,
                "action": e.kind.value,
                "actor": e.actor,
                "at": e.at.isoformat(timespec="minutes"),
                "set_aside": (e.desk_id, e.seq) in set_aside,
            }
            for e in c.events
        ],
        "fields": list(c.fields),
        "outcome": c.status,
        "seen": c.seen,
        "seen_by": [
            {"desk": d, "actor": a, "at": at.isoformat(timespec="minutes")}
            for d, a, at in c.seen_by
        ],
        "description": c.description,
    }


@click.group("conflicts", invoke_without_command=True)
@db_option
@click.option("--all", "show_all", is_flag=True, help="Cả các cảnh báo đã xem.")
@json_option
@click.pass_context
@guard
def conflicts(ctx: click.Context, db: Path | None, show_all: bool, as_json: bool) -> None:
    """Cảnh báo hai quầy thao tác cùng lúc trên một hồ sơ khi chưa đồng bộ."""
    ctx.ensure_object(dict)
    ctx.obj["db"] = db
    if ctx.invoked_subcommand is not None:
        return
    with open_desk(db) as desk:
        items = desk.conflicts(unseen_only=not show_all)
    if as_json:
        emit([_as_dict(c) for c in items])
        return
    if not items:
        click.echo(t("Không có cảnh báo xung đột nào chưa xem."))
        return
    for c in items:
        set_aside = {tuple(r) for r in c.set_aside}
        seen = t("đã xem") if c.seen else t("chưa xem")
        click.echo(
            t(
                "{id}  Hồ sơ {code}  ({seen}; quầy {desk} phát hiện lúc {at})",
                id=c.id,
                code=c.dossier,
                seen=seen,
                desk=c.detected_by,
                at=c.detected_at.strftime("%d/%m/%Y %H:%M"),
            )
        )
        for e in c.events:
            mark = t(" — không áp dụng") if (e.desk_id, e.seq) in set_aside else ""
            click.echo(
                t(
                    "    quầy {desk} ({actor}, {at}): {action}{mark}",
                    desk=e.desk_id,
                    actor=e.actor,
                    at=e.at.strftime("%d/%m/%Y %H:%M"),
                    action=action_label(e.kind),
                    mark=mark,
                )
            )
        if c.status:
            try:
                outcome = status_label(c.status)
            except ValueError:
                outcome = c.status
            click.echo(t("    Kết quả được giữ: {status}", status=outcome))


@conflicts.command("ack")
@click.argument("conflict_id")
@click.pass_context
@guard
def ack(ctx: click.Context, conflict_id: str) -> None:
    """Ghi nhận đã xem một cảnh báo xung đột (trên quầy này)."""
    with open_desk(ctx.obj.get("db")) as desk:
        if not any(c.id == conflict_id for c in desk.conflicts()):
            raise Refused(t("Không có cảnh báo xung đột {id}.", id=conflict_id))
        done = desk.mark_conflict_seen(conflict_id)
    if done:
        click.echo(t("Đã ghi nhận: quầy này đã xem cảnh báo {id}.", id=conflict_id))
    else:
        click.echo(t("Quầy này đã xem cảnh báo {id} từ trước.", id=conflict_id))
