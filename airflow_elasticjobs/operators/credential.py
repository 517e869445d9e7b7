"""Job credential operators (``New-AzSqlElasticJobCredential`` / ``Remove-AzSqlElasticJobCredential``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_elasticjobs.operators.base import (
    ElasticJobsBaseOperator,
    ElasticJobsDeleteOperatorBase,
    login_and_password,
)
from airflow_elasticjobs.validation import check_conn_id, check_name

if TYPE_CHECKING:
    from airflow.sdk import Context


class ElasticJobsCredentialOperator(ElasticJobsBaseOperator):
    """Create or update a database-scoped job credential from an Airflow connection.

    The connection's login becomes the credential's username and its password the password; the
    password never appears in DAG code, logs or XCom. Every run rewrites the credential (so it also
    rotates the password); use :class:`ElasticJobsDeployOperator` for change-only updates.

    Example::

        ElasticJobsCredentialOperator(task_id="masteruser", credential_name="masteruser",
                                      credential_conn_id="elastic_jobs_masteruser")

    :param credential_name: the job credential.
    :param credential_conn_id: Airflow connection holding the SQL login and password.

    XCom: ``{"id", "name", "username"}``.
    """

    template_fields: Sequence[str] = (
        *ElasticJobsBaseOperator.template_fields,
        "credential_name",
        "credential_conn_id",
    )

    def __init__(self, *, credential_name: str, credential_conn_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.credential_name = credential_name
        self.credential_conn_id = credential_conn_id
        self.validate()

    def validate(self) -> None:
        """Credential name and connection id."""
        check_name("credential_name", self.credential_name)
        check_conn_id("credential_conn_id", self.credential_conn_id)

    def run(self, context: Context) -> dict[str, Any]:
        """PUT the credential."""
        username, password = login_and_password("credential_conn_id", self.credential_conn_id)
        credential = self.hook.create_or_update_credential(self.credential_name, username, password)
        self.log.info("Job credential %s set for user %s", self.credential_name, username)
        return {"id": credential.id, "name": credential.name, "username": username}


class ElasticJobsDeleteCredentialOperator(ElasticJobsDeleteOperatorBase):
    """Delete a job credential (``Remove-AzSqlElasticJobCredential``); no error if it is already gone.

    Example::

        ElasticJobsDeleteCredentialOperator(task_id="drop_jobuser", credential_name="jobuser")

    XCom: ``{"name", "deleted"}``.
    """

    template_fields: Sequence[str] = (*ElasticJobsBaseOperator.template_fields, "credential_name")
    name_arg = "credential_name"
    resource_kind = "Job credential"
    hook_delete = "delete_credential"

    def __init__(self, *, credential_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.credential_name = credential_name
        self.validate()
