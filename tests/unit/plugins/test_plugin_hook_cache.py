"""The api-server's hook cache: reuse, LRU bound, connection re-checks, discard, close after last use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from airflow_elasticjobs.plugins.hook_cache import HookCache


@dataclass
class _Hook:
    key: tuple[Any, ...]
    settings: str
    closed: bool = field(default=False)

    def close(self) -> None:
        self.closed = True


class _World:
    """Connections by id (their "settings" a version string), a clock, and every hook built."""

    def __init__(self) -> None:
        self.connections: dict[str, str] = {}
        self.now = 0.0
        self.built: list[_Hook] = []
        self.reads = 0

    def build(self, key: tuple[Any, ...]) -> _Hook:
        hook = _Hook(key, self.connections[key[0]])
        self.built.append(hook)
        return hook

    def read_settings(self, hook: _Hook) -> str:
        self.reads += 1
        return self.connections[hook.key[0]]

    def cache(self, max_hooks: int = 32) -> HookCache:
        return HookCache(
            max_hooks, 30.0, build=self.build, read_settings=self.read_settings, clock=lambda: self.now
        )


def _key(conn_id: str, agent: str | None = None) -> tuple[str, None, None, str | None]:
    return (conn_id, None, None, agent)


@pytest.fixture
def world() -> _World:
    built = _World()
    built.connections.update({"a": "v1", "b": "v1", "c": "v1"})
    return built


def test_one_hook_per_connection_and_overrides_is_reused(world: _World) -> None:
    cache = world.cache()
    hooks = []
    for _ in range(3):
        with cache.hook(_key("a")) as hook:
            hooks.append(hook)
    with cache.hook(_key("a", "OtherAgent")) as other:
        pass
    assert hooks[0] is hooks[1] is hooks[2] and other is not hooks[0]
    assert len(world.built) == 2 and world.reads == 0


def test_least_recently_used_hook_is_closed_beyond_the_bound(world: _World) -> None:
    cache = world.cache(max_hooks=2)
    with cache.hook(_key("a")) as a:
        pass
    with cache.hook(_key("b")) as b:
        pass
    with cache.hook(_key("a")):
        pass  # "a" used last: "b" is the one to go
    with cache.hook(_key("c")):
        pass
    assert len(cache) == 2 and b.closed and not a.closed


def test_connection_is_read_again_after_the_recheck_interval_and_a_change_rebuilds(world: _World) -> None:
    cache = world.cache()
    with cache.hook(_key("a")) as first:
        pass
    world.now = 29.0
    with cache.hook(_key("a")) as same:
        pass
    assert same is first and world.reads == 0
    world.now = 31.0
    with cache.hook(_key("a")) as unchanged:
        pass
    assert unchanged is first and world.reads == 1
    world.connections["a"] = "v2"  # e.g. a rotated client secret
    world.now = 62.0
    with cache.hook(_key("a")) as rebuilt:
        pass
    assert rebuilt is not first and first.closed and rebuilt.settings == "v2"


def test_discard_rebuilds_on_next_use(world: _World) -> None:
    cache = world.cache()
    with cache.hook(_key("a")) as first:
        pass
    cache.discard(_key("a"))
    with cache.hook(_key("a")) as second:
        pass
    assert first.closed and second is not first and not second.closed


def test_a_hook_in_use_is_closed_only_when_its_last_request_ends(world: _World) -> None:
    cache = world.cache()
    with cache.hook(_key("a")) as in_use:
        cache.discard(_key("a"))
        assert not in_use.closed
    assert in_use.closed


def test_a_failing_build_caches_nothing(world: _World) -> None:
    cache = world.cache()
    with pytest.raises(KeyError), cache.hook(_key("missing")):
        pass
    assert len(cache) == 0
