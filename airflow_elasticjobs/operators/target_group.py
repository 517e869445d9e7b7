"""Target group operators (``New-AzSqlElasticJobTargetGroup`` + ``Add-AzSqlElasticJobTarget``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_elasticjobs.operators.base import ElasticJobsBaseOperator, ElasticJobsDeleteOperatorBase
from airflow_elasticjobs.validation import check_name, is_templated

if TYPE_CHECKING:
    from airflow.sdk import Context

# ``definitions`` and ``reconcile`` are imported where used: a DAG file that does not build this
# operator does not pay for them at parse time (benchmarks/import_cost.py).


class ElasticJobsTargetGroupOperator(ElasticJobsBaseOperator):
    """Create or update a target group to exactly the given members (written only when they differ).

    Members are :class:`~airflow_elasticjobs.definitions.TargetMember` or dicts with the same keys.
    Server, elastic pool and shard map members that are included need a ``refresh_credential`` (the
    credential the agent uses to enumerate their databases). A group needs at least one Include.

    Example (the tutorial's two groups)::

        ElasticJobsTargetGroupOperator(task_id="server_group", target_group_name="ServerGroup", members=[
            {"type": "SqlServer", "server_name": "ej-target-srv", "refresh_credential": "masteruser"},
        ])
        ElasticJobsTargetGroupOperator(
            task_id="server_group_excl", target_group_name="ServerGroupExcludingDb2", members=[
                {"type": "SqlServer", "server_name": "ej-target-srv", "refresh_credential": "masteruser"},
                {"type": "SqlDatabase", "server_name": "ej-target-srv", "database_name": "TargetDb2",
                 "membership_type": "Exclude"},
            ])

    :param target_group_name: the target group.
    :param members: list of members (Include/Exclude; SqlServer, SqlDatabase, SqlElasticPool, SqlShardMap).

    XCom: ``{"id", "name", "members", "change"}``.
    """

    template_fields: Sequence[str] = (
        *ElasticJobsBaseOperator.template_fields,
        "target_group_name",
        "members",
    )

    def __init__(self, *, target_group_name: str, members: list[Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target_group_name = target_group_name
        self.members = members
        self.validate()

    def validate(self) -> None:
        """Name and members (types, required fields, at least one Include, no duplicates)."""
        from airflow_elasticjobs.definitions import TargetGroupSpec

        check_name("target_group_name", self.target_group_name)
        if not is_templated(self.members) and not is_templated(self.target_group_name):
            TargetGroupSpec.build(self.target_group_name, self.members)

    def run(self, context: Context) -> dict[str, Any]:
        """Reconcile the group."""
        from airflow_elasticjobs.definitions import TargetGroupSpec
        from airflow_elasticjobs.reconcile import reconcile_target_group

        spec = TargetGroupSpec.build(self.target_group_name, self.members)
        change = reconcile_target_group(self.hook, spec)
        self.log.info("%s", change)
        return {
            "id": self.hook.agent.target_group_id(spec.name),
            "name": spec.name,
            "members": spec.to_arm(self.hook.agent),
            "change": change.as_dict(),
        }


class ElasticJobsDeleteTargetGroupOperator(ElasticJobsDeleteOperatorBase):
    """Delete a target group (``Remove-AzSqlElasticJobTargetGroup``); no error if it is already gone.

    Example::

        ElasticJobsDeleteTargetGroupOperator(task_id="drop_group", target_group_name="ServerGroup")

    XCom: ``{"name", "deleted"}``.
    """

    template_fields: Sequence[str] = (*ElasticJobsBaseOperator.template_fields, "target_group_name")
    name_arg = "target_group_name"
    resource_kind = "Target group"
    hook_delete = "delete_target_group"

    def __init__(self, *, target_group_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target_group_name = target_group_name
        self.validate()
