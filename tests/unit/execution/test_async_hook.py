"""ElasticJobsAsyncHook without network: defaults from the connection, clear misuse errors."""

from __future__ import annotations

import json

import pytest

from airflow_elasticjobs.hooks.connection import ElasticJobsConnectionSettings
from airflow_elasticjobs.hooks.connection_args import ConnectionArgs
from airflow_elasticjobs.hooks.elastic_jobs_async import ElasticJobsAsyncHook


def settings(**extras) -> ElasticJobsConnectionSettings:
    from types import SimpleNamespace

    conn = SimpleNamespace(
        conn_id="c", login=None, password=None, host=None, extra_dejson={"subscription_id": "sub", **extras}
    )
    return ElasticJobsConnectionSettings.from_connection(conn)


def test_overrides_win_over_connection_defaults():
    agent = ConnectionArgs("c", server_name="other").agent(
        settings(resource_group_name="rg", server_name="srv", agent_name="a")
    )
    assert (agent.subscription_id, agent.resource_group_name, agent.server_name, agent.agent_name) == (
        "sub",
        "rg",
        "other",
        "a",
    )


def test_missing_default_names_the_field_and_where_to_set_it():
    with pytest.raises(ValueError, match=r"agent_name is not set: pass agent_name= .* connection 'c'"):
        ConnectionArgs("c").agent(settings(resource_group_name="rg", server_name="srv"))


async def test_connection_is_read_async_and_calls_need_an_open_hook(monkeypatch):
    extra = {"subscription_id": "sub", "resource_group_name": "rg", "server_name": "srv", "agent_name": "a"}
    monkeypatch.setenv(
        "AIRFLOW_CONN_ASYNC_UNIT", json.dumps({"conn_type": "azure_elastic_jobs", "extra": extra})
    )
    hook = ElasticJobsAsyncHook("async_unit", agent_name="override")
    assert (await hook.agent()).agent_name == "override"
    with pytest.raises(RuntimeError, match="use it as 'async with hook:'"):
        await hook.get_execution("Job1", "e1")
