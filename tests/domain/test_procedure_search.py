"""The intake's procedure ranking, on the real catalogue (assets/catalogue/procedures.csv)."""

from __future__ import annotations

import csv
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from onestop.domain.procedure_search import name_match, rank
from onestop.domain.text import search_key

CSV = Path(__file__).resolve().parents[2] / "assets" / "catalogue" / "procedures.csv"
ROWS = list(csv.DictReader(CSV.read_text(encoding="utf-8").splitlines()))
CATALOGUE: list[tuple[str, str]] = [(row["code"], row["name_vi"]) for row in ROWS]
# What the store's filter looks in (services/catalogue.py: code, name and field).
KEYS = {row["code"]: search_key(row["code"], row["name_vi"], row["field_vi"]) for row in ROWS}


def found(words: list[str]) -> list[tuple[str, str]]:
    return [p for p in CATALOGUE if all(w in KEYS[p[0]] for w in words)]


def ranked(query: str, usage: dict[str, int] | None = None) -> list[tuple[str, str]]:
    # The SQL filter first (every typed word inside the name's key), as the desk does.
    return rank(
        query,
        found(search_key(query).split()),
        name=lambda p: p[1],
        code=lambda p: p[0],
        usage=usage,
    )


def test_chung_thuc_chu_puts_chung_thuc_chu_ky_first() -> None:
    got = ranked("chung thuc chu")
    assert got[0] == ("2.000884", "Chứng thực chữ ký")
    names = [n for _, n in got]
    assert names.index("Chứng thực bản sao từ bản chính") > names.index("Chứng thực chữ ký")


def test_accents_and_case_do_not_matter() -> None:
    assert ranked("CHỨNG THỰC CHỮ")[0][0] == "2.000884"
    assert ranked("khai sinh")[0][1] == "Đăng ký khai sinh" or ranked("khai sinh")[0][1].startswith(
        "Đăng ký khai sinh"
    )


def test_usage_breaks_equal_matches_and_the_code_breaks_the_rest() -> None:
    items = [("2.000003", "Chứng thực di chúc"), ("2.000001", "Chứng thực hợp đồng")]
    items.append(("2.000002", "Chứng thực văn bản"))
    by_code = rank("chung thuc", items, name=lambda p: p[1], code=lambda p: p[0])
    assert [c for c, _ in by_code] == ["2.000001", "2.000002", "2.000003"]
    by_use = rank(
        "chung thuc", items, name=lambda p: p[1], code=lambda p: p[0], usage={"2.000003": 4}
    )
    assert [c for c, _ in by_use][0] == "2.000003"
    # A shorter name that the typed words describe better beats the longer one.
    assert ranked("chu ky nguoi dich")[0][0] == "2.001008"


def test_a_typed_code_comes_first() -> None:
    assert ranked("2.000884")[0][0] == "2.000884"


def test_usage_never_beats_a_better_name_match() -> None:
    assert ranked("chung thuc chu", {"2.000815": 10_000})[0][0] == "2.000884"


QUERIES = st.lists(
    st.sampled_from(sorted({w for _, n in CATALOGUE for w in search_key(n).split()})),
    min_size=1,
    max_size=4,
)


@given(QUERIES, st.dictionaries(st.sampled_from([c for c, _ in CATALOGUE]), st.integers(0, 50)))
def test_the_order_is_by_match_then_usage_then_code(
    words: list[str], usage: dict[str, int]
) -> None:
    query = " ".join(words)
    got = ranked(query, usage)
    keys = []
    for code, name in got:
        m = name_match(query, name, code)
        keys.append((-m[0], -m[1], -usage.get(code, 0), code))
    assert keys == sorted(keys)
    # Every procedure whose name contains every typed word is listed, none twice.
    expected = set(found(words))
    assert set(got) == expected and len(got) == len(expected)


@given(st.sampled_from(CATALOGUE))
def test_a_procedures_own_full_name_ranks_it_first(proc: tuple[str, str]) -> None:
    got = ranked(proc[1])
    best = name_match(proc[1], proc[1], proc[0])
    assert name_match(proc[1], got[0][1], got[0][0]) == best  # nothing matches better
