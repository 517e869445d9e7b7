"""ARM routes of target_groups (api-version 2025-01-01)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
