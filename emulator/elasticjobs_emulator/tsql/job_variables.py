"""The job agent's scripting variable in a step's command: ``$(job_execution_id)``.

"Create and manage elastic jobs by using T-SQL", section "Monitor database performance"
(https://learn.microsoft.com/azure/azure-sql/database/elastic-jobs-tsql-create-manage) selects
``$(job_execution_id) AS job_execution_id`` in a step's command "to group all results from the same
job execution together" in the output table. The example uses the variable unquoted as a select
expression, so the agent must put an expression there: the emulator substitutes a string literal
``'<jobExecutionId>'`` (emulator decision; no source shows the substituted text). The substitution
is textual, before the batch is parsed, as the variable is not T-SQL; the name is case-insensitive.
"""

from __future__ import annotations

import re

_JOB_EXECUTION_ID = re.compile(r"\$\(job_execution_id\)", re.IGNORECASE)


def substitute_job_variables(command: str, job_execution_id: str) -> str:
    """``command`` with every ``$(job_execution_id)`` replaced by ``'<job_execution_id>'``."""
    literal = "'" + job_execution_id.replace("'", "''") + "'"
    return _JOB_EXECUTION_ID.sub(lambda _: literal, command)
