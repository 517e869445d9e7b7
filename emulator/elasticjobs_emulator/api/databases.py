"""ARM routes of ``Microsoft.Sql/servers/databases``.

Each database is one SQLite file managed by ``catalog.ServerCatalog``; ``master`` is created with
its server and cannot be deleted. Databases are ready at once (PUT answers 200 or 201 with the
database; Azure runs a long operation of minutes instead).
"""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from starlette.responses import JSONResponse

from elasticjobs_emulator import errors
from elasticjobs_emulator.api import arm, validation
from elasticjobs_emulator.api.database_skus import DatabaseSku, complete
from elasticjobs_emulator.context import EmulatorContext

router = APIRouter()
MASTER = "master"
_COLLATION = "SQL_Latin1_General_CP1_CI_AS"


# A new database with no sku is a Standard S0 of 250 GB, as in the spec's CreateDatabaseMin.json;
# master is a System database (sku System, capacity 0).
_DEFAULT_SKU = {"name": "Standard", "tier": "Standard", "capacity": 10}
_DEFAULT = DatabaseSku(_DEFAULT_SKU, _DEFAULT_SKU, "S0")
_SYSTEM_SKU = {"name": "System", "tier": "System", "capacity": 0}
_SYSTEM = DatabaseSku(_SYSTEM_SKU, _SYSTEM_SKU, "System")
_DEFAULT_MAX_SIZE_BYTES = 268435456000
_EARLIEST_RESTORE_AFTER = datetime.timedelta(minutes=10)
# vCore tiers (sku names GP_…, BC_…, HS_…) also report a license type and a log size limit, as in
# the spec's GetVCoreDatabase.json; DTU tiers (CreateDatabaseMin.json) do not.
_VCORE_TIERS = {"GeneralPurpose", "BusinessCritical", "Hyperscale"}
_VCORE_PREFIXES = ("GP_", "BC_", "HS_")
_VCORE_DEFAULTS = {"licenseType": "LicenseIncluded", "maxLogSizeBytes": 104857600}
# Every database reports the maintenance window it follows; without one chosen it is SQL_Default.
_DEFAULT_MAINTENANCE = (
    "/subscriptions/{}/providers/Microsoft.Maintenance/publicMaintenanceConfigurations/SQL_Default"
)


def _sku_properties(chosen: DatabaseSku) -> dict[str, Any]:
    sku = chosen.sku
    vcore = sku.get("tier") in _VCORE_TIERS or str(sku["name"]).upper().startswith(_VCORE_PREFIXES)
    return {
        "currentSku": dict(chosen.current),
        "currentServiceObjectiveName": chosen.objective,
        "requestedServiceObjectiveName": chosen.objective,
        **(_VCORE_DEFAULTS if vcore else {}),
    }


def _database_doc(
    database_id: str, location: str, *, system: bool, sku: dict[str, Any] | None, tags: Any, collation: str
) -> dict[str, Any]:
    created = datetime.datetime.now(datetime.UTC)
    chosen = complete(sku) if sku is not None else _SYSTEM if system else _DEFAULT
    return arm.new_doc(
        database_id,
        {
            "collation": collation,
            "maxSizeBytes": _DEFAULT_MAX_SIZE_BYTES,
            "status": "Online",
            "databaseId": str(uuid.uuid4()),
            **_sku_properties(chosen),
            "creationDate": validation.format_timestamp(created),
            "earliestRestoreDate": validation.format_timestamp(created + _EARLIEST_RESTORE_AFTER),
            "catalogCollation": _COLLATION,
            "readScale": "Disabled",
            "zoneRedundant": False,
            "currentBackupStorageRedundancy": "Geo",
            "requestedBackupStorageRedundancy": "Geo",
            "isLedgerOn": False,
            "isInfraEncryptionEnabled": False,
            "maintenanceConfigurationId": _DEFAULT_MAINTENANCE.format(database_id.split("/")[2]),
        },
        location=location,
        tags=tags,
        sku=dict(chosen.sku),
        kind="v12.0,system" if system else "v12.0,user",
    )


def create_master(context: EmulatorContext, server: dict[str, Any]) -> None:
    """Create the ``master`` database document of a new server."""
    master_id = f"{server['id']}/databases/{MASTER}"
    doc = _database_doc(master_id, server["location"], system=True, sku=None, tags=None, collation=_COLLATION)
    context.store.put(master_id, doc)


def drop_database_files(context: EmulatorContext, server_id: str, names: list[str]) -> None:
    """Delete the SQLite files of these databases of a server."""
    catalog = context.catalog(server_id)
    for name in names:
        catalog.drop_database_file(name)


@router.get(arm.SERVER_PREFIX + "/databases")
def list_databases(request: Request) -> dict[str, Any]:
    """Databases of a server, ``master`` first."""
    return arm.list_children(request, "databases")


@router.get(arm.SERVER_PREFIX + "/databases/{database}")
def get_database(request: Request) -> dict[str, Any]:
    """One database."""
    return arm.require(arm.ctx(request), arm.path_id(request))


@router.put(arm.SERVER_PREFIX + "/databases/{database}")
def put_database(request: Request, body: Annotated[Any, Body()] = None) -> JSONResponse:
    """Create (201) or update (200) a database; location defaults to the server's."""
    context, database_id = arm.addressed(request)
    server = context.store.get(database_id.rsplit("/databases/", 1)[0])
    assert server is not None
    body = arm.object_body(body)
    properties = arm.properties_of(body)
    existing = context.store.get(database_id)
    location = validation.location(body, required=False) or server["location"]
    sku = validation.sub_object(body, "sku", "")
    if sku is not None:
        validation.text(sku, "name", "sku.")
    collation = validation.text(properties, "collation", "properties.", required=False) or _COLLATION
    if existing is not None:
        existing["location"] = location
        if body.get("tags") is not None:
            existing["tags"] = body["tags"]
        if sku is not None:
            chosen = complete(sku)
            existing["sku"] = dict(chosen.sku)
            for key in _VCORE_DEFAULTS:
                existing["properties"].pop(key, None)
            existing["properties"].update(_sku_properties(chosen))
        existing["properties"]["collation"] = collation
        context.store.put(database_id, existing)
        return arm.put_answer(existing, created=False)
    system = arm.resource_name(database_id).lower() == MASTER
    doc = _database_doc(
        database_id, location, system=system, sku=sku, tags=body.get("tags"), collation=collation
    )
    context.store.put(database_id, doc)
    return arm.put_answer(doc, created=True)


@router.delete(arm.SERVER_PREFIX + "/databases/{database}")
def delete_database(request: Request) -> Response:
    """Delete a user database and its file; ``master`` cannot be deleted."""
    context, database_id = arm.addressed(request)
    name = arm.resource_name(database_id)
    if name.lower() == MASTER:
        raise errors.bad_request(
            "CannotDeleteSystemDatabase",
            "The database 'master' is a system database and cannot be deleted; delete the server instead.",
        )
    doc = context.store.get(database_id)
    if doc is None:
        return arm.delete_answer(False)
    context.store.delete(database_id)
    drop_database_files(context, database_id.rsplit("/databases/", 1)[0], [doc["name"]])
    return arm.delete_answer(True)
