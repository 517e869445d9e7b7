"""``ElasticJobsDeployOperator``: reconcile a whole job definition to a desired state, idempotently."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_elasticjobs.managed_identity import parse_identity
from airflow_elasticjobs.operators.base import login_and_password
from airflow_elasticjobs.operators.job import ElasticJobsJobDefinitionOperatorBase, job_result
from airflow_elasticjobs.validation import invalid, is_templated

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_elasticjobs.definitions import CredentialSpec, TargetGroupSpec

# ``definitions`` and ``reconcile`` are imported where used: a DAG file that does not build this
# operator does not pay for them at parse time (benchmarks/import_cost.py).


def _specs(cls: type, values: Any, field_name: str) -> list[Any]:
    if values is None:
        return []
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise invalid(field_name, values, f"give a list of {cls.__name__} entries (objects or dicts)")
    from airflow_elasticjobs.definitions import coerce

    specs = [coerce(cls, v, f"{field_name}[{i}]") for i, v in enumerate(values)]
    names = [s.name.lower() for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise invalid(field_name, duplicates, "declare each name once")
    return specs


class ElasticJobsDeployOperator(ElasticJobsJobDefinitionOperatorBase):
    """Reconcile credentials, target groups, a job, its ordered steps and its schedule to a desired state.

    Like ``terraform apply`` inside the DAG: each resource is compared with what the agent holds and
    only differences are written (credentials when missing or their username changed, target groups
    when their member set differs, steps when missing, moved or changed, steps not declared are
    removed, the schedule last). The diff is logged line by line (``+`` create, ``~`` update,
    ``-`` delete); a second run with the same input writes nothing. Target groups and credentials
    that are not declared are left alone (they may be shared with other jobs).

    ARM never returns a credential's password, so a password change alone is not detected; set
    ``always_update_credentials=True`` to rewrite them on every run (e.g. after rotation).

    Steps, step outputs and server / pool members without a credential authenticate as the agent's
    user-assigned managed identity; before anything is written the deploy checks that the agent has
    one (and, when ``identity`` is given, that it is that one), so no credentials are needed at all::

        ElasticJobsDeployOperator(
            task_id="deploy_job1_umi",
            identity="/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.ManagedIdentity/"
                     "userAssignedIdentities/ej-umi",
            target_groups=[{"name": "ServerGroup", "members": [
                {"type": "SqlServer", "server_name": "ej-target-srv"}]}],
            job_name="Job1",
            steps=[{"name": "Step1", "target_group": "ServerGroup", "command": "CREATE TABLE ..."}],
        )

    Example::

        ElasticJobsDeployOperator(
            task_id="deploy_job1",
            credentials=[{"name": "masteruser", "conn_id": "ej_masteruser"},
                         {"name": "jobuser", "conn_id": "ej_jobuser"}],
            target_groups=[{"name": "ServerGroup", "members": [
                {"type": "SqlServer", "server_name": "ej-target-srv", "refresh_credential": "masteruser"}]}],
            job_name="Job1",
            steps=[{"name": "Step1", "target_group": "ServerGroup", "credential": "jobuser",
                    "command": "CREATE TABLE ..."}],
            schedule={"type": "Recurring", "interval": "PT1H", "enabled": True},
        )

    :param job_name: the job.
    :param steps: ordered steps (``StepSpec`` or dicts).
    :param description: job description. The job is reconciled to the desired state, so ``""`` (the
        default) clears an existing description.
    :param credentials: ``CredentialSpec`` or ``{"name", "conn_id"}`` dicts (login/password from the conn).
    :param target_groups: ``{"name", "members"}`` dicts (or ``TargetGroupSpec``).
    :param schedule: optional agent-side schedule; ``None`` (the default) leaves the job's schedule as
        it is.
    :param always_update_credentials: rewrite credentials on every run.
    :param identity: the user-assigned managed identity the agent must run as (resource id, a one-item
        list, or Azure's ``identity`` dict, as for ``ElasticJobsAgentOperator``); checked, never written
        (the agent operator sets it). ``None``: any identity the agent has will do.

    XCom: ``{"id", "name", "version", "steps", "changes", "changed"}`` (changes list only writes).
    """

    template_fields: Sequence[str] = (
        *ElasticJobsJobDefinitionOperatorBase.template_fields,
        "credentials",
        "target_groups",
        "identity",
    )

    def __init__(
        self,
        *,
        credentials: list[Any] | None = None,
        target_groups: list[Any] | None = None,
        always_update_credentials: bool = False,
        identity: str | list[str] | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.credentials = credentials
        self.target_groups = target_groups
        self.always_update_credentials = always_update_credentials
        self.identity = identity
        self.validate_dependencies()

    def validate(self) -> None:
        """The whole definition (job, then credentials and target groups), before anything is written."""
        super().validate()
        self.validate_dependencies()

    def validate_dependencies(self) -> None:
        """Credentials, target groups and identity, once none is templated."""
        if not any(is_templated(v) for v in (self.credentials, self.target_groups)):
            self._dependencies()
        if not is_templated(self.identity):
            parse_identity(self.identity)

    def _check_identity(self, groups: list[TargetGroupSpec]) -> None:
        """Before any write: the agent has ``identity`` (if given), and one for members without credential."""
        from airflow_elasticjobs.reconcile import AgentIdentity, check_member_credentials

        agent_identity = AgentIdentity(self.hook)
        wanted = parse_identity(self.identity)
        if wanted is not None and wanted["type"] != "None":
            expected = next(iter(wanted["userAssignedIdentities"]))
            if expected.lower() not in {i.lower() for i in agent_identity.ids()}:
                raise invalid(
                    "identity",
                    expected,
                    f"agent {self.hook.agent.agent_name!r} runs as {agent_identity.ids() or 'no identity'}; "
                    "assign this identity with ElasticJobsAgentOperator(identity=...) first, or fix it",
                )
        for i, group in enumerate(groups):
            check_member_credentials(self.hook, group, f"target_groups[{i}].members", agent_identity)

    def _dependencies(self) -> tuple[list[CredentialSpec], list[TargetGroupSpec]]:
        from airflow_elasticjobs.definitions import CredentialSpec, TargetGroupSpec

        credentials = _specs(CredentialSpec, self.credentials, "credentials")
        for i, credential in enumerate(credentials):
            credential.validate(f"credentials[{i}]")
        groups = [
            TargetGroupSpec.build(g.name, g.members, f"target_groups[{i}].members")
            for i, g in enumerate(_specs(TargetGroupSpec, self.target_groups, "target_groups"))
        ]
        return credentials, groups

    def run(self, context: Context) -> dict[str, Any]:
        """Credentials, then target groups, then the job (steps, schedule)."""
        job = self.job_spec()
        credentials, groups = self._dependencies()
        self._check_identity(groups)
        secrets = {
            c.name: login_and_password(f"credentials[{c.name}].conn_id", c.conn_id) for c in credentials
        }
        reconciled = self.reconcile_job_definition(
            job,
            credentials=secrets,
            target_groups=groups,
            always_update_credentials=self.always_update_credentials,
        )
        written = sum(c.changed for c in reconciled.changes)
        self.log.info(
            "Deploy of job %s: %d change(s) applied, %d unchanged",
            job.name,
            written,
            len(reconciled.changes) - written,
        )
        return job_result(self.hook, job, reconciled)
