"""Fibonacci numbers: exact, O(log n) by fast doubling, and a bounded LRU cache of rendered results."""

from __future__ import annotations

from collections import OrderedDict
from decimal import Decimal
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

# Below this many bits an int has fewer than 4000 decimal digits: plain str() is safe and fastest.
_STR_SAFE_BITS = 13_000


def fibonacci(n: int) -> int:
    """F(n) with F(0) = 0, F(1) = 1, by fast doubling: F(2k) = F(k)(2F(k+1) - F(k)),
    F(2k+1) = F(k)^2 + F(k+1)^2, walking the bits of n from the top."""
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    a, b = 0, 1  # F(k), F(k+1) for k = the bits of n read so far
    for bit in bin(n)[2:]:
        c = a * ((b << 1) - a)
        d = a * a + b * b
        a, b = (d, c + d) if bit == "1" else (c, d)
    return a


def render_result(value: int) -> bytes:
    """The JSON body `{"result": <value>}`, exact for any size. Decimal renders a big int without
    Python's int-to-str digit limit (4300 digits by default), so no global setting is changed."""
    digits = str(value) if value.bit_length() < _STR_SAFE_BITS else str(Decimal(value))
    return b'{"result": ' + digits.encode("ascii") + b"}"


class LRUCache(Generic[K, V]):
    """A mapping that holds at most `maxsize` entries and evicts the least recently used one."""

    __slots__ = ("_data", "maxsize")

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, got {maxsize}")
        self.maxsize = maxsize
        self._data: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def keys(self) -> list[K]:
        """Keys from least to most recently used."""
        return list(self._data)

    def get(self, key: K) -> V | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.maxsize:
            self._data.popitem(last=False)

    def resize(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, got {maxsize}")
        self.maxsize = maxsize
        while len(self._data) > maxsize:
            self._data.popitem(last=False)

    def clear(self) -> None:
        self._data.clear()
