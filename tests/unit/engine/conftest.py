"""Fixtures for engine tests: a real store, a fake database layer, engines stopped after use."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from elasticjobs_emulator.engine import Engine
from elasticjobs_emulator.passwords import PasswordHasher
from elasticjobs_emulator.store import Store
from tests.unit.engine.fakes import FakeSql


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "state.db")
    yield store
    store.close()


@pytest.fixture
def fake_sql() -> FakeSql:
    return FakeSql()


@pytest.fixture
def engine_factory(store: Store, tmp_path: Path, fake_sql: FakeSql) -> Iterator[Callable[[], Engine]]:
    engines: list[Engine] = []

    def make() -> Engine:
        engine = Engine(store, tmp_path, PasswordHasher(b"k"), sql=fake_sql, schedule_tick=0.05)
        engine.start()
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.stop()
