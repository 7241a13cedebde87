"""Fibonacci against an independent reference, exact rendering of huge results, and the LRU bound."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pytest

from httpserver.fibo import LRUCache, fibonacci, render_result


@pytest.fixture(scope="module")
def reference() -> dict[int, int]:
    """F(n) by the plain loop F(n+1) = F(n) + F(n-1), kept for every n up to 2000 and sampled beyond."""
    wanted = set(range(2001)) | set(range(2001, 100001, 997)) | {4785, 20577, 65535, 99999, 100000}
    values: dict[int, int] = {}
    a, b = 0, 1
    for n in range(100001):
        if n in wanted:
            values[n] = a
        a, b = b, a + b
    return values


@pytest.fixture
def unlimited_int_str() -> Iterator[None]:
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    yield
    sys.set_int_max_str_digits(limit)


def test_first_values() -> None:
    assert [fibonacci(n) for n in range(12)] == [0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89]


def test_matches_reference_for_every_n_up_to_2000_and_samples_to_100000(reference: dict[int, int]) -> None:
    mismatches = [n for n, expected in reference.items() if fibonacci(n) != expected]
    assert mismatches == []
    assert len(reference) > 2000 + 90


def test_beyond_int64_is_exact(reference: dict[int, int]) -> None:
    # The Go seed overflowed past n = 92.
    assert fibonacci(93) == 12200160415121876738 > 2**63
    assert fibonacci(93) == reference[93]


def test_negative_n_is_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        fibonacci(-1)


def test_render_is_json_with_an_exact_number(reference: dict[int, int], unlimited_int_str: None) -> None:
    for n in (0, 10, 93, 4785, 20577, 100000):
        body = render_result(fibonacci(n))
        assert body == b'{"result": ' + str(reference[n]).encode() + b"}", n
    assert json.loads(render_result(55)) == {"result": 55}


def test_render_needs_no_global_digit_limit_change() -> None:
    assert sys.get_int_max_str_digits() == 4300  # the interpreter default, untouched by the app
    body = render_result(fibonacci(100000))
    assert len(body) == len(b'{"result": }') + 20899


def test_lru_never_exceeds_its_bound() -> None:
    cache: LRUCache[int, str] = LRUCache(5)
    for n in range(100):
        cache.put(n, str(n))
        assert len(cache) <= 5
    assert cache.keys() == [95, 96, 97, 98, 99]


def test_lru_evicts_the_least_recently_used() -> None:
    cache: LRUCache[int, str] = LRUCache(3)
    for n in (1, 2, 3):
        cache.put(n, str(n))
    assert cache.get(1) == "1"  # 1 is now the most recent; 2 is the oldest
    cache.put(4, "4")
    assert 2 not in cache
    assert cache.keys() == [3, 1, 4]
    assert cache.get(2) is None


def test_lru_put_refreshes_an_existing_key() -> None:
    cache: LRUCache[int, str] = LRUCache(2)
    cache.put(1, "a")
    cache.put(2, "b")
    cache.put(1, "c")
    cache.put(3, "d")
    assert cache.keys() == [1, 3]
    assert cache.get(1) == "c"


def test_lru_resize_drops_the_oldest() -> None:
    cache: LRUCache[int, int] = LRUCache(10)
    for n in range(10):
        cache.put(n, n)
    cache.resize(4)
    assert cache.keys() == [6, 7, 8, 9]
    with pytest.raises(ValueError):
        cache.resize(0)
    with pytest.raises(ValueError):
        LRUCache(0)
