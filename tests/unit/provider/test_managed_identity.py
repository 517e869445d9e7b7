"""A job agent's managed identity: local validation of ``identity``, and the checks before any write
that a step, output or member without a credential has an agent identity to run as.

The reconcile checks run against a minimal stand-in for the hook (only ``agent`` and ``get_agent``);
the integration tests (tests/integration/test_tutorial_managed_identity.py) run them against the
emulator with the real client.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from airflow_elasticjobs.definitions import TargetGroupSpec, build_job
from airflow_elasticjobs.hooks.resource_ids import AgentRef
from airflow_elasticjobs.managed_identity import identity_name, parse_identity
from airflow_elasticjobs.operators.agent import ElasticJobsAgentOperator
from airflow_elasticjobs.operators.deploy import ElasticJobsDeployOperator
from airflow_elasticjobs.operators.target_group import ElasticJobsTargetGroupOperator
from airflow_elasticjobs.operators.target_setup import ElasticJobsTargetSetupOperator, parse_identities
from airflow_elasticjobs.reconcile import check_member_credentials, check_step_references
from airflow_elasticjobs.target_setup_sql import user_batch
from airflow_elasticjobs.validation import ElasticJobsValidationError

UMI = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ej-umi"
ARM = {"type": "UserAssigned", "userAssignedIdentities": {UMI: {}}}


@pytest.mark.parametrize("value", [UMI, [UMI], (UMI,), ARM])
def test_every_accepted_form_gives_azures_identity_body(value: Any) -> None:
    assert parse_identity(value) == ARM
    assert identity_name(UMI) == "ej-umi"


def test_none_leaves_the_identity_and_type_none_removes_it() -> None:
    assert parse_identity(None) is None
    assert parse_identity({"type": "None"}) == {"type": "None"}


@pytest.mark.parametrize(
    ("value", "field", "fix"),
    [
        ("ej-umi", "identity", "resource id of a user-assigned managed identity"),
        (UMI.replace("Microsoft.ManagedIdentity", "Microsoft.Sql"), "identity", "Microsoft.ManagedIdentity"),
        ([UMI, UMI + "2"], "identity", "exactly one"),
        ([], "identity", "exactly one"),
        (42, "identity", "resource id"),
        ({"type": "SystemAssigned"}, "identity.type", "use 'UserAssigned'"),
        (
            {"type": "UserAssigned", "userAssignedIdentities": {}},
            "identity.userAssignedIdentities",
            "exactly one",
        ),
        (
            {"type": "UserAssigned", "userAssignedIdentities": [UMI]},
            "identity.userAssignedIdentities",
            "dict",
        ),
        (
            {"type": "None", "userAssignedIdentities": {UMI: {}}},
            "identity.userAssignedIdentities",
            "leave it out",
        ),
        ({**ARM, "principalId": "x"}, "identity", "remove ['principalId']"),
    ],
)
def test_bad_identity_names_the_field_and_the_fix(value: Any, field: str, fix: str) -> None:
    with pytest.raises(ElasticJobsValidationError) as info:
        parse_identity(value)
    assert str(info.value).startswith(f"{field}=")
    assert fix in str(info.value)


def test_agent_and_deploy_operators_refuse_a_bad_identity_at_parse_time() -> None:
    with pytest.raises(ElasticJobsValidationError, match=r"^identity="):
        ElasticJobsAgentOperator(task_id="agent", database_name="JobDatabase", identity="ej-umi")
    with pytest.raises(ElasticJobsValidationError, match=r"^identity\.type="):
        ElasticJobsDeployOperator(
            task_id="deploy",
            job_name="Job1",
            steps=[{"name": "s", "target_group": "g", "command": "SELECT 1"}],
            identity={"type": "SystemAssigned"},
        )
    templated = ElasticJobsAgentOperator(
        task_id="t", database_name="JobDatabase", identity="{{ var.value.umi }}"
    )
    assert "identity" in templated.template_fields


def test_server_member_without_refresh_credential_is_valid_locally() -> None:
    op = ElasticJobsTargetGroupOperator(
        task_id="g", target_group_name="g", members=[{"type": "SqlServer", "server_name": "target-srv"}]
    )
    assert op.target_group_name == "g"


def _hook(identity: Any) -> Any:
    """What the checks use of ``ElasticJobsHook``: the agent's names and ``get_agent``."""
    agent = SimpleNamespace(identity=identity)
    return SimpleNamespace(
        agent=AgentRef("sub", "rg", "srv", "ElasticJobAgent"),
        get_agent=lambda: agent,
        get_target_group=lambda name: object(),
        get_credential=lambda name: object(),
    )


JOB = build_job("Job1", [{"name": "step1", "target_group": "ServerGroup", "command": "SELECT 1"}])
GROUP = TargetGroupSpec.build("ServerGroup", [{"type": "SqlServer", "server_name": "target-srv"}])


def test_step_without_credential_is_refused_before_any_write_when_the_agent_has_no_identity() -> None:
    with pytest.raises(ElasticJobsValidationError) as info:
        check_step_references(_hook(None), JOB)
    message = str(info.value)
    assert message.startswith("steps[0].credential=None is invalid")
    assert "agent 'ElasticJobAgent' has none" in message
    assert "ElasticJobsAgentOperator(identity=...)" in message


def test_output_without_credential_needs_the_identity_too() -> None:
    output = {"server_name": "s", "database_name": "d", "table_name": "t"}
    job = build_job(
        "Job1",
        [
            {
                "name": "s1",
                "target_group": "g",
                "credential": "jobuser",
                "command": "SELECT 1",
                "output": output,
            }
        ],
    )
    with pytest.raises(ElasticJobsValidationError, match=r"^steps\[0\]\.output\.credential="):
        check_step_references(_hook(None), job)


def test_member_without_refresh_credential_is_refused_when_the_agent_has_no_identity() -> None:
    with pytest.raises(ElasticJobsValidationError) as info:
        check_member_credentials(_hook(None), GROUP, "target_groups[0].members")
    assert str(info.value).startswith("target_groups[0].members[0].refresh_credential=None is invalid")


def test_with_an_agent_identity_steps_and_members_need_no_credential() -> None:
    hook = _hook(SimpleNamespace(user_assigned_identities={UMI: object()}))
    check_step_references(hook, JOB)
    check_member_credentials(hook, GROUP)
    excluded = TargetGroupSpec.build(
        "g",
        [
            {"type": "SqlDatabase", "server_name": "s", "database_name": "d"},
            {"type": "SqlServer", "server_name": "s", "membership_type": "Exclude"},
        ],
    )
    check_member_credentials(_hook(None), excluded)  # nothing to list: no identity needed


def test_identity_users_are_created_from_external_provider_quoted_and_idempotent() -> None:
    (spec,) = parse_identities([{"name": UMI, "databases": ["TargetDb1"], "roles": ["db_datareader"]}])
    assert spec.name == "ej-umi"
    long_id = UMI.replace("/rg/", "/" + "g" * 120 + "/")  # a resource id may exceed a SQL name's 128
    assert parse_identities([{"name": long_id, "master_user": True}])[0].name == "ej-umi"
    sql = user_batch("ej]umi", None, [], ["db_datareader"]).sql
    assert "CREATE USER [ej]]umi] FROM EXTERNAL PROVIDER;" in sql
    assert "IF NOT EXISTS (SELECT 1 FROM sys.database_principals WHERE name = N'ej]umi')" in sql
    assert "ALTER ROLE [db_datareader] ADD MEMBER [ej]]umi];" in sql


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "logins"),
        ({"identities": [{"name": "ej-umi"}]}, "identities[0]"),
        ({"identities": [{"name": "", "databases": ["d"]}]}, "identities[0].name"),
        ({"identities": [{"name": "/subscriptions/x", "databases": ["d"]}]}, "identities[0].name"),
        ({"identities": [{"name": "u", "databases": ["d"], "login_conn_id": "c"}]}, "identities[0]"),
        ({"identities": {"name": "u"}}, "identities"),
    ],
)
def test_target_setup_identities_are_validated_at_parse_time(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ElasticJobsValidationError) as info:
        ElasticJobsTargetSetupOperator(task_id="setup", sql_conn_id="admin", **kwargs)
    assert str(info.value).startswith(f"{field}=")
