"""The tutorial flow with another ``azure-mgmt-sql`` (3.x, 5.x), run in its own venv by test_other_clients.py.

Usage: ``python sdk_tutorial.py <emulator url> <cert.pem> <token> <subscription> <resource group>``.
Creates a server, a job database and a target database, a job agent, a credential (the server
admin), a target group with the target database, a job with one step, starts an execution and waits
(bounded) until it is Succeeded. Prints one JSON line with what the test checks.
"""

from __future__ import annotations

import json
import sys
import time

from azure.core.credentials import AccessToken
from azure.mgmt.sql import SqlManagementClient, models

ADMIN, PASSWORD = "clientadmin", "Cl1ent-Passw0rd!"
TERMINAL = {"Succeeded", "Failed", "Canceled", "TimedOut", "Skipped", "SucceededWithSkipped"}


class StaticToken:
    """A TokenCredential that always returns the emulator's static token."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + 3600)


def main(url: str, cert: str, token: str, subscription: str, rg: str) -> None:
    client = SqlManagementClient(
        StaticToken(token), subscription, base_url=url, connection_verify=cert, retry_total=2
    )
    server = client.servers.begin_create_or_update(
        rg,
        f"{rg}-srv",  # server names are global: one per run
        models.Server(location="westus", administrator_login=ADMIN, administrator_login_password=PASSWORD),
    ).result()
    job_db = client.databases.begin_create_or_update(
        rg, server.name, "jobdb", models.Database(location="westus")
    ).result()
    client.databases.begin_create_or_update(
        rg, server.name, "targetdb", models.Database(location="westus")
    ).result()
    agent = client.job_agents.begin_create_or_update(
        rg, server.name, "agent", models.JobAgent(location="westus", database_id=job_db.id)
    ).result()
    names = (rg, server.name, agent.name)
    credential = client.job_credentials.create_or_update(
        *names, "admin", models.JobCredential(username=ADMIN, password=PASSWORD)
    )
    member = models.JobTarget(type="SqlDatabase", server_name=server.name, database_name="targetdb")
    group = client.job_target_groups.create_or_update(
        *names, "group", models.JobTargetGroup(members=[member])
    )
    client.jobs.create_or_update(*names, "job", models.Job(description="another SDK"))
    step = client.job_steps.create_or_update(
        *names,
        "job",
        "step1",
        models.JobStep(
            target_group=group.id,
            credential=credential.id,
            action=models.JobStepAction(value="CREATE TABLE SdkTable (id int)"),
            execution_options=models.JobStepExecutionOptions(retry_attempts=0),
        ),
    )
    execution = client.job_executions.begin_create(*names, "job").result()
    deadline = time.monotonic() + 60
    while execution.lifecycle not in TERMINAL and time.monotonic() < deadline:
        time.sleep(0.5)
        execution = client.job_executions.get(*names, "job", execution.job_execution_id)
    print(
        json.dumps(
            {
                "agent_state": agent.state,
                "agent_sku": agent.sku.name if agent.sku else None,
                "step_id": step.step_id,
                "lifecycle": execution.lifecycle,
                "last_message": execution.last_message,
                "steps": [
                    s.lifecycle
                    for s in client.job_step_executions.list_by_job_execution(
                        *names, "job", execution.job_execution_id
                    )
                ],
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:6])
