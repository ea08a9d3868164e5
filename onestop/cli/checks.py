"""``onestop check-id``: a command that opens no desk, in a module that imports only what it
needs (click, ``cli._common`` and ``domain.cccd``).

Kept out of ``cli/dossiers.py`` because that module's top imports the lifecycle, events,
payments and query modules the desk commands need (~30 ms): a clerk checking a number from a
script should not wait for them (issue 19 §3: a command that touches no database starts in
< 150 ms). ``tests/cli/test_short_help.py`` checks in a fresh interpreter what it imports.
"""

from __future__ import annotations

import sys

import click

from onestop.cli._common import Refused, count, desk_now, emit, json_option
from onestop.domain.cccd import CccdError, parse_cccd
from onestop.i18n import t


@click.command("check-id")
@click.argument("number")
@click.option(
    "--birth-year", type=count(1900, 2099), default=None, help="Năm sinh khai báo, để đối chiếu."
)
@click.option("--sex", default=None, help="Giới tính khai báo (nam/nữ), để đối chiếu.")
@json_option
def check_id(number: str, birth_year: int | None, sex: str | None, as_json: bool) -> None:
    """Kiểm tra số định danh cá nhân (CCCD 12 số)."""
    try:
        info = parse_cccd(number, today=desk_now().date(), birth_year=birth_year, sex=sex)
    except CccdError as e:
        if as_json:
            emit({"valid": False, "error": e.code, "message": str(e)})
            sys.exit(1)
        raise Refused(str(e)) from e
    if as_json:
        emit(
            {
                "valid": True,
                "number": info.number,
                "place_code": info.place_code,
                "place": info.place_name,
                "born_abroad": info.born_abroad,
                "sex": info.sex,
                "birth_year": info.birth_year,
            }
        )
    else:
        click.echo(
            t(
                "Hợp lệ: {n} — nơi đăng ký khai sinh: {place}; giới tính: {sex}; năm sinh: {year}.",
                n=info.number,
                place=info.place_name,
                sex=info.sex,
                year=info.birth_year,
            )
        )
