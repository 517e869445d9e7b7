"""Asset URIs and OpenLineage names of Azure SQL databases follow one convention."""

import pytest
from airflow.sdk import Asset

from airflow_elasticjobs import dataset_names


def test_bare_server_name_gets_the_public_cloud_suffix_and_port():
    assert dataset_names.namespace("Contoso") == "mssql://contoso.database.windows.net:1433"


def test_fully_qualified_host_is_kept():
    assert (
        dataset_names.namespace("srv.database.chinacloudapi.cn")
        == "mssql://srv.database.chinacloudapi.cn:1433"
    )


def test_database_and_table_uris_are_valid_airflow_assets_one_segment_per_level():
    assert Asset(dataset_names.database_uri("contoso", "Target Db")).uri == (
        "x-mssql://contoso.database.windows.net:1433/Target%20Db"
    )
    assert Asset(dataset_names.table_uri("contoso", "Db", "dbo", "t")).uri == (
        "mssql://contoso.database.windows.net:1433/Db/dbo/t"
    )


def test_openlineage_table_name():
    assert dataset_names.table_name("Db", "dbo", "t") == "Db.dbo.t"


def test_empty_server_name_names_the_field():
    with pytest.raises(ValueError, match="server_name"):
        dataset_names.namespace(" ")


def test_only_table_uris_use_the_mssql_scheme_whose_provider_requires_database_schema_table():
    """The Microsoft SQL Server provider's check of ``mssql://`` URIs: a host, then exactly database, schema
    and table (its ``assets/mssql.py``); a database URI must stay out of that scheme."""
    from urllib.parse import urlsplit

    table = urlsplit(dataset_names.table_uri("contoso", "Db", "dbo", "t"))
    assert (table.scheme, table.port, table.path.count("/")) == ("mssql", 1433, 3)
    database = urlsplit(dataset_names.database_uri("contoso", "Db"))
    assert database.scheme.startswith("x-") and database.path == "/Db"
