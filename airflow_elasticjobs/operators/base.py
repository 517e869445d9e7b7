"""Shared base of the Elastic Jobs operators: connection id, default overrides, hook construction.

The hook is built lazily inside ``execute`` (never in ``__init__``), so DAG parsing looks up no
connection and imports no Azure SDK. Subclasses implement :meth:`validate` and call it at the end of
their ``__init__`` (literal values); ``execute`` calls it again after templates are rendered, before any
remote call.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator

from airflow_elasticjobs.hooks.connection import DEFAULT_CONN_ID, get_connection
from airflow_elasticjobs.hooks.connection_args import ConnectionArgs, ConnectionArgsAttributes
from airflow_elasticjobs.hooks.elastic_jobs import ElasticJobsHook
from airflow_elasticjobs.hooks.errors import describe_error
from airflow_elasticjobs.validation import check_name, invalid

if TYPE_CHECKING:
    from airflow.sdk import Context


class ElasticJobsBaseOperator(ConnectionArgsAttributes, BaseOperator):
    """Base for every Elastic Jobs ARM operator (all but the target-setup operator, which runs SQL).

    :param elastic_jobs_conn_id: an ``azure_elastic_jobs`` connection.
    :param resource_group_name: overrides the connection's resource group.
    :param server_name: overrides the connection's server (the job agent's server).
    :param agent_name: overrides the connection's job agent.
    """

    template_fields: Sequence[str] = ConnectionArgsAttributes.CONNECTION_FIELDS
    ui_color = "#c4e1f5"

    def __init__(
        self,
        *,
        elastic_jobs_conn_id: str = DEFAULT_CONN_ID,
        resource_group_name: str | None = None,
        server_name: str | None = None,
        agent_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.keep_connection_args(
            ConnectionArgs(elastic_jobs_conn_id, resource_group_name, server_name, agent_name)
        )
        self.connection_args.validate()

    def validate(self) -> None:
        """Check the operator's own arguments; raise ``ElasticJobsValidationError`` naming the field."""

    @cached_property
    def hook(self) -> ElasticJobsHook:
        """The hook, built on first use inside ``execute``."""
        return self.new_hook()

    def new_hook(self) -> ElasticJobsHook:
        """A hook of its own (not :attr:`hook`), for work on another thread that closes it after."""
        return ElasticJobsHook.for_args(self.connection_args)

    def execute(self, context: Context) -> Any:
        """Validate the rendered arguments, then run :meth:`run` with the hook (see :meth:`remote_work`)."""
        self.connection_args.validate()
        self.validate()
        with self.remote_work():
            return self.run(context)

    @contextmanager
    def remote_work(self) -> Iterator[None]:
        """Wrap every entry point that talks to Azure (``execute``, a deferred task's resumption).

        An Azure error that escapes (after the hook's retries) fails the task with
        :func:`describe_error`'s short, secret-free text naming what to fix and the connection id;
        the original is chained. The hook is closed on the way out.
        """
        from azure.core.exceptions import AzureError

        from airflow_elasticjobs.compat import AirflowException

        try:
            yield
        except AzureError as err:
            raise AirflowException(
                f"{describe_error(err)} (connection {self.elastic_jobs_conn_id!r})"
            ) from err
        finally:
            self.hook.close()

    def run(self, context: Context) -> Any:
        """The operator's work; the return value goes to XCom."""
        raise NotImplementedError


def login_and_password(field: str, conn_id: str) -> tuple[str, str]:
    """Read login and password from an Airflow connection; errors never include the password."""
    conn = get_connection(field, conn_id)
    if not conn.login or not conn.password:
        missing = "login" if not conn.login else "password"
        raise invalid(field, conn_id, f"connection {conn_id!r} has no {missing}; set its login and password")
    return conn.login, conn.password


class ElasticJobsDeleteOperatorBase(ElasticJobsBaseOperator):
    """Shared body of the ``ElasticJobsDelete<Thing>Operator`` classes: validate the name, delete,
    tolerate "already gone", return ``{"name", "deleted"}``.

    Subclasses set ``name_arg`` (the attribute holding the resource name), ``resource_kind`` and
    ``hook_delete`` (the hook method that deletes one by name and returns ``False`` when it did not
    exist).
    """

    name_arg: ClassVar[str]
    resource_kind: ClassVar[str]
    hook_delete: ClassVar[str]

    def validate(self) -> None:
        """The resource name."""
        check_name(self.name_arg, getattr(self, self.name_arg))

    def run(self, context: Context) -> dict[str, Any]:
        """Delete and report."""
        name = getattr(self, self.name_arg)
        deleted = getattr(self.hook, self.hook_delete)(name)
        self.log.info("%s %s %s", self.resource_kind, name, "deleted" if deleted else "did not exist")
        return {"name": name, "deleted": deleted}
