"""Fixtures of the provider integration tests, registered once for every module here.

``world`` (the tutorial's world plus the Airflow connection, one per module) comes from
:mod:`execution_support`; ``names`` (fresh names and connections per test) from
:mod:`resource_support`.
"""

from tests.integration.provider.execution_support import world_fixture
from tests.integration.provider.resource_support import names_fixture

__all__ = ["names_fixture", "world_fixture"]
