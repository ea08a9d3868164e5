"""The README's command table and the real command line do not drift apart.

Like datasette's cog check, but as an assertion: the click command tree is walked for real (the
root is a ``LazyGroup``, so every lazily loaded module is imported), and every command a user can
run must have a row in the table under "## Using the command line", every command the table
names must exist, and every command must say what it does in ``--help``.

Table rows start with ``| `onestop``; the first cell holds one or more code spans separated by
" / ". Inside a span, ``\\|`` separates sibling sub-commands (``onestop user list\\|add USER``),
except in a list of option values (``--format table\\|json``) or with spaces around it
(``[--from DATE \\| --period …]``). A span that starts with ``-`` is more options of the
command before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import click

from onestop.cli.main import main

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Using the command line"

_CELL_SPLIT = re.compile(r"(?<!\\)\|")  # a table cell boundary is a pipe not escaped as \|
_CODE_SPAN = re.compile(r"`([^`]+)`")
# "--format table\|json\|csv": the alternatives are the option's values, not commands.
_OPTION_VALUES = re.compile(r"--[\w-]+[ =][^\s\\\[\]]+(?:\\\|[^\s\\\[\]]+)+")
_WORD = re.compile(r"[a-z][a-z0-9-]*")


@dataclass(frozen=True)
class Named:
    """A command path named in the README and the table row (line number) that names it."""

    path: tuple[str, ...]
    line: int

    def __str__(self) -> str:
        return " ".join(("onestop", *self.path))


def _walk(
    group: click.Group, ctx: click.Context, prefix: tuple[str, ...]
) -> dict[tuple[str, ...], click.Command]:
    found: dict[tuple[str, ...], click.Command] = {}
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, (
            f"`onestop {' '.join((*prefix, name))}` is listed but not loadable"
        )
        path = (*prefix, name)
        found[path] = command
        if isinstance(command, click.Group):
            found.update(_walk(command, click.Context(command, parent=ctx, info_name=name), path))
    return found


def command_tree() -> dict[tuple[str, ...], click.Command]:
    """Every command under ``onestop``, by path (``("keys", "import-trust")``), groups included."""
    assert isinstance(main, click.Group)
    return _walk(main, click.Context(main, info_name="onestop"), ())


def runnable(tree: dict[tuple[str, ...], click.Command]) -> set[tuple[str, ...]]:
    """The paths a user runs: every leaf, and a group that does something on its own
    (``onestop desk``, ``onestop sync``). Hidden commands need no row."""
    return {
        path
        for path, command in tree.items()
        if not command.hidden
        and (not isinstance(command, click.Group) or command.invoke_without_command)
    }


def table_rows(text: str) -> list[tuple[int, str]]:
    """(line number, first cell) of each command-table row in the command-line section."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == SECTION), None)
    assert start is not None, f"README.md has no {SECTION!r} section"
    rows: list[tuple[int, str]] = []
    for i in range(start + 1, len(lines)):
        line = lines[i]
        if line.startswith("## "):
            break
        if line.startswith("| `onestop"):
            rows.append((i + 1, _CELL_SPLIT.split(line)[1]))
    return rows


def _command_words(text: str) -> list[str]:
    words: list[str] = []
    for token in text.split():
        if not _WORD.fullmatch(token):
            break
        words.append(token)
    return words


def named_commands(text: str) -> list[Named]:
    """Every command path the README's command table names, with the table line naming it."""
    named: list[Named] = []
    for line, cell in table_rows(text):
        for span in _CODE_SPAN.findall(cell):
            span = span.strip()
            if span.startswith("-"):
                continue  # "`onestop backup --to DIR` / `--auto`": more options of that command
            if span.split()[0] != "onestop":
                raise AssertionError(
                    f"README.md:{line}: the code span {span!r} in the command column does not "
                    "start with `onestop` or an option"
                )
            span = _OPTION_VALUES.sub("--option", span.replace(" \\| ", " "))
            alternatives = span.split("\\|")
            path = tuple(_command_words(alternatives[0])[1:])
            if path:
                named.append(Named(path, line))
            for alternative in alternatives[1:]:
                # "onestop user list\|add USER": "add" replaces "list" beside it.
                words = _command_words(alternative)
                assert words and path, (
                    f"README.md:{line}: cannot read a command after '\\|' in {span!r}"
                )
                path = (*path[:-1], *words)
                named.append(Named(path, line))
    return named


def _resolve(
    tree: dict[tuple[str, ...], click.Command], words: tuple[str, ...]
) -> tuple[str, ...] | None:
    """The command the words name; lowercase words after a command that is not a group are its
    arguments (``onestop report bieu06``). None when a word names no command."""
    path: tuple[str, ...] = ()
    for word in words:
        if path and not isinstance(tree[path], click.Group):
            break
        if (*path, word) not in tree:
            return None
        path = (*path, word)
    return path


def test_the_readme_table_is_read_as_intended() -> None:
    """The parser itself, on the forms the table uses."""
    text = "\n".join(
        [
            SECTION,
            "| Command | What it does |",
            "| `onestop` / `onestop desk [--web]` | x |",
            "| `onestop user list\\|add USER [--name N]\\|set-role USER ROLES` | x |",
            "| `onestop report KIND [--from D \\| --period month\\|year --n N] --format table\\|csv` | x |",
            "| `onestop backup --to DIR` / `--auto` | x |",
            "## Design",
            "| `onestop not-in-the-section` | x |",
        ]
    )
    assert [str(n) for n in named_commands(text)] == [
        "onestop desk",
        "onestop user list",
        "onestop user add",
        "onestop user set-role",
        "onestop report",
        "onestop backup",
    ]


def test_every_command_has_a_row_in_the_readme_command_table() -> None:
    tree = command_tree()
    named = named_commands(README.read_text(encoding="utf-8"))
    assert named, (
        f"README.md: no command-table rows (lines starting '| `onestop') under {SECTION!r}"
    )
    documented = {_resolve(tree, n.path) for n in named}
    missing = sorted(" ".join(("onestop", *p)) for p in runnable(tree) - documented)
    assert not missing, (
        f"README.md {SECTION!r} table has no row for: {', '.join(missing)}. Add a row "
        "'| `onestop … ARGS [--options]` | what it does |' (see `onestop … --help`)."
    )


def test_every_command_the_readme_table_names_exists() -> None:
    tree = command_tree()
    unknown = [
        f"README.md:{n.line}: `{n}`"
        for n in named_commands(README.read_text(encoding="utf-8"))
        if _resolve(tree, n.path) is None
    ]
    assert not unknown, "the command table names commands the CLI does not have:\n" + "\n".join(
        unknown
    )


def test_every_command_says_what_it_does() -> None:
    silent = sorted(
        " ".join(("onestop", *path))
        for path, command in command_tree().items()
        if not (command.help or command.short_help or "").strip()
    )
    assert not silent, (
        f"these commands have no help text (write a one-line Vietnamese docstring or help=): "
        f"{', '.join(silent)}"
    )
