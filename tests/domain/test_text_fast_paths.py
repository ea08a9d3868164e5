"""The fast paths of the field policy and the search key give exactly what their definitions
give (issue 19 §2: every intake runs them several times)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onestop.domain import fields, text
from onestop.domain.fields import FieldError, check_text, clean_field, forbidden_char
from onestop.i18n import set_language


def _refused(ch: str) -> bool:
    """The policy's definition: a bidi control, a C0/C1 control or DEL (Cc), a surrogate (Cs)."""
    return ch in fields._BIDI or unicodedata.category(ch) in ("Cc", "Cs")


def test_the_refused_class_is_the_definition_over_every_code_point() -> None:
    for cp in range(0x110000):
        ch = chr(cp)
        assert (forbidden_char(ch) is not None) == _refused(ch), hex(cp)
        at_input = fields._FORBIDDEN_INPUT_RE.match(ch) is not None
        assert at_input == (_refused(ch) and ch not in "\t\n\r"), hex(cp)


@given(st.text(alphabet=st.characters(codec=None), max_size=40))
def test_forbidden_char_is_the_first_refused_character(s: str) -> None:
    assert forbidden_char(s) == next((ch for ch in s if _refused(ch)), None)


def _key_one_by_definition(s: str) -> str:
    folded = unicodedata.normalize("NFD", s.casefold())
    stripped = "".join(
        ch for ch in folded if unicodedata.category(ch) not in ("Mn", "Cf")
    ).translate(text._D_MAP)
    return text._NON_KEY_RUN.sub(" ", stripped).strip()


@given(
    st.text(
        alphabet=st.sampled_from(
            "aăâbcdđeêghiklmnoôơpqrstuưvxyAĂÂĐÊÔƠƯàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợ"
            "ùủũúụừửữứựỳỷỹýỵ 0123456789.-ðÐ\u200b\u0301\u0323ΩßİﬁẞǅÅ"
        ),
        max_size=30,
    )
)
def test_search_key_fast_path_is_the_definition(s: str) -> None:
    assert text._key_one(s) == _key_one_by_definition(s)


@given(st.text(max_size=30))
def test_search_key_fast_path_on_any_text(s: str) -> None:
    assert text._key_one(s) == _key_one_by_definition(s)


def test_the_basic_marks_are_all_combining_marks() -> None:
    assert all(unicodedata.category(chr(cp)) == "Mn" for cp in range(0x300, 0x370))


def test_an_accepted_text_is_remembered_a_refused_one_never() -> None:
    check_text("name", "Nguyễn Văn An")
    check_text("name", "Nguyễn Văn An")  # the second time from memory
    for language, word in (("vi", "Họ tên"), ("en", "Full name"), ("vi", "Họ tên")):
        set_language(language)
        try:
            with pytest.raises(FieldError) as e:
                check_text("name", "Nguyễn\u202eVăn")
            assert word.lower() in str(e.value).lower()
        finally:
            set_language("vi")
    with pytest.raises(FieldError):
        check_text("name", "x" * 101)
    assert clean_field("name", "  Lò\tVăn\nBình ") == "Lò Văn Bình"
    with pytest.raises(FieldError):
        clean_field("name", "Lò\x00Văn")
