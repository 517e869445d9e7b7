"""Configuration of the live Azure tests: environment variables → settings → Airflow connections.

Stdlib only, so that collecting ``tests/live`` without the variables (every CI run) costs nothing:
the Azure and Airflow imports happen in the fixtures of tests that actually run. The variables are
documented in ``docs/live-tests.md``; the Airflow connections follow ``docs/connection.md``
(service principal: login = client id, password = secret, ``tenant_id`` extra) and
``docs/tutorial.md`` (the tutorial DAG's five connections, ``odbc`` for the target server).
"""

from __future__ import annotations

import ipaddress
import json
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from scripts.demo_report import DemoNames

OPT_IN = "ELASTICJOBS_LIVE"
_P = "ELASTICJOBS_LIVE_"
REQUIRED = (
    f"{_P}SUBSCRIPTION_ID",
    f"{_P}TENANT_ID",
    f"{_P}CLIENT_ID",
    f"{_P}CLIENT_SECRET",
    f"{_P}RESOURCE_GROUP",
    f"{_P}CLIENT_IP",
)
OPTIONAL_DEFAULTS = {
    f"{_P}LOCATION": "westeurope",
    f"{_P}SQL_ADMIN_LOGIN": "ejliveadmin",
    f"{_P}SQL_ADMIN_PASSWORD": "",  # empty: a random password per run
    f"{_P}ODBC_DRIVER": "ODBC Driver 18 for SQL Server",
}
RUN_PREFIX_ROOT = "ejlive-"
"""Every server the live tests create is named ``ejlive-<run>-…``; ``python -m tests.live.cleanup``
deletes what an interrupted run left behind by this prefix."""

_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_RESOURCE_GROUP = re.compile(r"^[-\w.()]{1,90}$")
_LOCATION = re.compile(r"^[a-z0-9]{2,40}$")


class LiveSettingsError(ValueError):
    """A live-test variable is set to a value that cannot work; the message names it and the fix."""


def skip_reason(env: Mapping[str, str]) -> str | None:
    """Why the live tests are skipped with this environment (the missing variables), or ``None``."""
    missing = [name for name in REQUIRED if not env.get(name, "").strip()]
    opted_in = env.get(OPT_IN, "").strip() == "1"
    if opted_in and not missing:
        return None
    needed = ([] if opted_in else [f"{OPT_IN}=1 (opt-in: creates billable Azure resources)"]) + missing
    return f"live Azure tests need {', '.join(needed)}; see docs/live-tests.md"


def random_sql_password() -> str:
    """A fresh password meeting Azure SQL's complexity rules (upper, lower, digit, symbol; 8-128)."""
    return f"Ej{secrets.token_urlsafe(18)}9!x"


def run_prefix(now: float | None = None) -> str:
    """A prefix unique to one test run, e.g. ``ejlive-12051907-3fa9c2``: lowercase, digits and
    hyphens as server names must be (they are global on Azure), short enough for the suffixes."""
    stamp = time.strftime("%m%d%H%M", time.gmtime(time.time() if now is None else now))
    return f"{RUN_PREFIX_ROOT}{stamp}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class LiveSettings:
    """The validated live-test configuration (secrets are left out of ``repr``)."""

    subscription_id: str
    tenant_id: str
    client_id: str
    client_secret: str = field(repr=False)
    resource_group: str
    client_ip: str
    location: str
    admin_login: str
    admin_password: str = field(repr=False)
    odbc_driver: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> LiveSettings:
        """Read and check the variables; :class:`LiveSettingsError` names a bad one and the fix."""
        value = {name: env.get(name, "").strip() for name in REQUIRED}
        value.update({name: env.get(name, "").strip() or d for name, d in OPTIONAL_DEFAULTS.items()})
        for name in (f"{_P}SUBSCRIPTION_ID", f"{_P}TENANT_ID", f"{_P}CLIENT_ID"):
            _check(name, value[name], bool(_UUID.match(value[name])), "a GUID such as 0000…-…")
        _check(
            f"{_P}RESOURCE_GROUP",
            value[f"{_P}RESOURCE_GROUP"],
            bool(_RESOURCE_GROUP.match(value[f"{_P}RESOURCE_GROUP"])),
            "the name of an existing resource group the service principal may write to",
        )
        _check(
            f"{_P}CLIENT_IP",
            value[f"{_P}CLIENT_IP"],
            _is_public_ipv4(value[f"{_P}CLIENT_IP"]),
            "the public IPv4 address this machine reaches Azure from (e.g. `curl -4 ifconfig.me`)",
        )
        _check(
            f"{_P}LOCATION",
            value[f"{_P}LOCATION"],
            bool(_LOCATION.match(value[f"{_P}LOCATION"])),
            "an Azure region name such as westeurope (`az account list-locations -o table`)",
        )
        return cls(
            subscription_id=value[f"{_P}SUBSCRIPTION_ID"],
            tenant_id=value[f"{_P}TENANT_ID"],
            client_id=value[f"{_P}CLIENT_ID"],
            client_secret=value[f"{_P}CLIENT_SECRET"],
            resource_group=value[f"{_P}RESOURCE_GROUP"],
            client_ip=value[f"{_P}CLIENT_IP"],
            location=value[f"{_P}LOCATION"],
            admin_login=value[f"{_P}SQL_ADMIN_LOGIN"],
            admin_password=value[f"{_P}SQL_ADMIN_PASSWORD"] or random_sql_password(),
            odbc_driver=value[f"{_P}ODBC_DRIVER"],
        )

    def names(self, prefix: str) -> DemoNames:
        """The tutorial's names for one run: both servers carry the run prefix (global on Azure)."""
        return DemoNames(
            resource_group=self.resource_group,
            agent_server=f"{prefix}-agent",
            target_server=f"{prefix}-target",
        )

    def connection_env(self, names: DemoNames, job_passwords: Mapping[str, str]) -> dict[str, str]:
        """``AIRFLOW_CONN_*`` variables for the tutorial DAG's connections on Azure, plus the one
        Airflow setting the ``odbc`` connection needs (its driver comes from the extra).

        ``job_passwords`` holds the passwords of the tutorial's ``masteruser`` and ``jobuser``.
        """

        def login(user: str, password: str) -> str:
            return json.dumps({"conn_type": "generic", "login": user, "password": password})

        return {
            "AIRFLOW_CONN_AZURE_ELASTIC_JOBS_DEFAULT": json.dumps(
                {
                    "conn_type": "azure_elastic_jobs",
                    "login": self.client_id,
                    "password": self.client_secret,
                    "extra": {
                        "subscription_id": self.subscription_id,
                        "tenant_id": self.tenant_id,
                        "resource_group_name": names.resource_group,
                        "server_name": names.agent_server,
                        "agent_name": names.agent,
                    },
                }
            ),
            "AIRFLOW_CONN_ELASTIC_JOBS_SERVER_ADMIN": login(self.admin_login, self.admin_password),
            "AIRFLOW_CONN_ELASTIC_JOBS_MASTERUSER": login("masteruser", job_passwords["masteruser"]),
            "AIRFLOW_CONN_ELASTIC_JOBS_JOBUSER": login("jobuser", job_passwords["jobuser"]),
            "AIRFLOW_CONN_ELASTIC_JOBS_TARGET_SQL": json.dumps(
                {
                    "conn_type": "odbc",
                    "host": f"{names.target_server}.database.windows.net",
                    "port": 1433,
                    "schema": "master",
                    "login": self.admin_login,
                    "password": self.admin_password,
                    "extra": {"driver": self.odbc_driver, "Encrypt": "yes", "TrustServerCertificate": "no"},
                }
            ),
            "AIRFLOW__PROVIDERS_ODBC__ALLOW_DRIVER_IN_EXTRA": "True",
        }


def _is_public_ipv4(text: str) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return address.version == 4 and address.is_global


def _check(name: str, value: str, ok: bool, expected: str) -> None:
    """Raise naming the variable and the fix (only called for variables that hold no secret)."""
    if not ok:
        raise LiveSettingsError(f"{name}={value!r} cannot work: set it to {expected}.")
