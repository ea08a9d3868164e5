"""The pure parts of the wheel-matrix check (the check itself runs in .ci/run, on the network)."""

from __future__ import annotations

from pathlib import Path

from tests.platforms.check_wheels import (
    PYTHONS,
    TARGETS,
    Outcome,
    manylinux_tags,
    pip_download_args,
    pure_pins,
    render,
    runtime_requirements,
)


def test_the_matrix_is_the_one_the_issue_asks_for() -> None:
    assert {t.name for t in TARGETS} == {
        "Windows x86_64",
        "macOS x86_64",
        "macOS arm64",
        "Linux x86_64",
        "Linux aarch64",
    }
    assert PYTHONS == ("3.11", "3.12", "3.13")


def test_a_glibc_2_28_machine_takes_every_older_manylinux_wheel() -> None:
    # sqlcipher3-binary was manylinux_2_17 only: pip does not widen manylinux tags itself.
    tags = manylinux_tags("aarch64")
    assert tags[0] == "manylinux_2_28_aarch64"
    assert "manylinux_2_17_aarch64" in tags and "manylinux2014_aarch64" in tags


def test_pip_is_asked_for_binaries_of_one_platform_and_python(tmp_path: Path) -> None:
    linux = next(t for t in TARGETS if t.name == "Linux x86_64")
    args = pip_download_args(linux, "3.12", tmp_path)
    assert "--only-binary=:all:" in args and "--no-deps" in args
    assert args[args.index("--python-version") + 1] == "3.12"
    assert args[args.index("--implementation") + 1] == "cp"
    assert args.count("--platform") == len(linux.pip_platforms)


def test_runtime_requirements_leave_out_the_developer_tools(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "x"\ndependencies = ["sqlcipher3-wheels>=0.5.7"]\n'
        '[project.optional-dependencies]\ntest = ["pytest"]\npostgres = ["psycopg[binary]>=3.2"]\n'
    )
    assert runtime_requirements(pyproject) == ["sqlcipher3-wheels>=0.5.7", "psycopg[binary]>=3.2"]


def test_the_real_dependencies_name_no_x86_64_only_package() -> None:
    reqs = " ".join(runtime_requirements())
    assert "sqlcipher3-binary" not in reqs and "sqlcipher3-wheels" in reqs


def test_pure_wheels_are_fetched_once_for_every_platform(tmp_path: Path) -> None:
    for name in (
        "textual-8.2.8-py3-none-any.whl",
        "Jinja2-3.1.6-py3-none-any.whl",
        "numpy-2.4.6-cp311-cp311-win_amd64.whl",
    ):
        (tmp_path / name).write_bytes(b"")
    assert pure_pins(tmp_path) == {"textual==8.2.8", "jinja2==3.1.6"}


def test_the_matrix_is_printed_as_a_table() -> None:
    outcomes = [Outcome(t, p, t.name != "macOS x86_64", "", 65) for t in TARGETS for p in PYTHONS]
    table = render(outcomes)
    assert "| Windows x86_64 | ok (65) | ok (65) | ok (65) |" in table
    assert "| macOS x86_64 | **MISSING** |" in table
