"""SQL data plane: T-SQL batches to an emulated database, authenticated as a SQL login."""

from __future__ import annotations

from fastapi import APIRouter

SQLPLANE_PREFIX = "/_emulator/sql/"

router = APIRouter()
