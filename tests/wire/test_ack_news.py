"""The news an ack carries (protocol 2, ack key 6): its encoding and its bounds."""

from __future__ import annotations

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from onestop.wire.base import WireError, dumps
from onestop.wire.messages import MAX_NEWS_DESKS, Ack, News

HEAD = bytes(range(32))


def _payload(extra: dict[int, object]) -> bytes:
    return dumps({1: "20081-01", 2: 7, 3: HEAD, 4: 1_700_000_000, 5: "20081-01:1-7", **extra})


desk_ids = st.from_regex(r"\A2[0-9]{4}-[0-9]{2}\Z")


@given(
    st.integers(0, 2**40),
    st.dictionaries(desk_ids, st.integers(0, 2**40), max_size=MAX_NEWS_DESKS),
)
def test_news_round_trips_inside_an_ack(reference: int, desks: dict[str, int]):
    news = News(reference, tuple(sorted(desks.items())))
    ack = Ack("20081-01", 7, HEAD, 1_700_000_000, "20081-01:1-7", news)
    assert Ack.from_payload(dumps(ack.to_map()), news=True) == ack


def test_an_ack_without_news_reads_the_same_for_both_protocols():
    plain = _payload({})
    assert Ack.from_payload(plain) == Ack.from_payload(plain, news=True)
    assert Ack.from_payload(plain, news=True).news is None


def test_a_protocol_1_reader_refuses_the_new_key():
    # What a desk of protocol 1 (0.1.0) does with key 6: the reason the server sends it only
    # to desks announcing protocol 2 (wire/version.py ACK_NEWS_SINCE).
    with pytest.raises(WireError):
        Ack.from_payload(_payload({6: [3, []]}))
    assert Ack.from_payload(_payload({6: [3, []]}), news=True).news == News(3, ())


@pytest.mark.parametrize(
    "news",
    [
        [3],  # not [version, desks]
        [3, {}],
        [-1, []],  # versions and positions are non-negative
        [3, [["20081-02", -5]]],
        [3, [["20081-02"]]],
        [3, [[7, 5]]],  # a desk id is text
        [3, [["20081-02", 5], ["20081-02", 6]]],  # one desk twice
        [3, [[f"2{i:04d}-01", 1] for i in range(MAX_NEWS_DESKS + 1)]],  # past the bound
        [True, []],
    ],
)
def test_malformed_or_unbounded_news_is_refused(news: object):
    with pytest.raises(WireError):
        Ack.from_payload(_payload({6: news}), news=True)


def test_news_at_the_bound_is_read():
    desks = [[f"2{i:04d}-01", i] for i in range(MAX_NEWS_DESKS)]
    ack = Ack.from_payload(_payload({6: [9, desks]}), news=True)
    assert ack.news is not None and len(ack.news.desks) == MAX_NEWS_DESKS
    assert cbor2.loads(dumps(ack.to_map()))[6] == [9, desks]
