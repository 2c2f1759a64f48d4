"""The in-process caches: bounded maps of derived values, and properties computed once per object."""

from __future__ import annotations

import threading

from movie_assets.store.cache import BoundedCache, computed_once


def test_a_bounded_cache_drops_the_least_recently_used_entry():
    cache: BoundedCache[int] = BoundedCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "b" is now the oldest
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)


class _Node:
    calls = 0

    def __init__(self, value: int) -> None:
        self.value = value

    @computed_once
    def doubled(self) -> int:
        """Twice the value."""
        _Node.calls += 1
        return 2 * self.value


def test_a_property_computed_once_is_computed_per_object_and_then_read_as_a_plain_attribute():
    _Node.calls = 0
    one, two = _Node(1), _Node(5)
    assert (one.doubled, one.doubled, two.doubled) == (2, 2, 10)
    assert _Node.calls == 2 and vars(one)["doubled"] == 2
    assert _Node.doubled.__doc__ == "Twice the value."


def test_threads_reading_a_property_computed_once_all_see_its_value():
    nodes = [_Node(i) for i in range(2_000)]
    seen: list[list[int]] = [[], []]

    def read(out: list[int]) -> None:
        out.extend(node.doubled for node in nodes)

    threads = [threading.Thread(target=read, args=(out,)) for out in seen]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen[0] == seen[1] == [2 * i for i in range(2_000)]
