"""ARM routes of job executions, step executions and target executions (api-version 2025-01-01)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
