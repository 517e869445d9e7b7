"""A small client of the Airflow 3 REST API (``/api/v2``) logged in through the simple auth manager.

``POST /auth/token`` with ``{"username", "password"}`` answers ``{"access_token"}`` (see
``airflow/api_fastapi/auth/managers/simple/routes/login.py``); every other call sends it as a bearer
token. A 401 (token expired) logs in again once.
"""

from __future__ import annotations

from typing import Any

import httpx


class AirflowApi:
    """``/api/v2`` of one api-server as one user."""

    def __init__(self, base_url: str, username: str, password: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._login = {"username": username, "password": password}
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)
        self._token: str | None = None

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> AirflowApi:
        """``with AirflowApi(...) as api:`` closes the client on the way out."""
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def token(self) -> str:
        """A fresh access token for the user (raises on a wrong login)."""
        response = self._http.post("/auth/token", json=self._login)
        response.raise_for_status()
        return response.json()["access_token"]

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One authenticated call; ``path`` is relative to ``/api/v2`` (e.g. ``"dags"``)."""
        url = f"/api/v2/{path.lstrip('/')}"
        for attempt in range(2):
            if self._token is None:
                self._token = self.token()
            headers = {"Authorization": f"Bearer {self._token}"}
            response = self._http.request(method, url, headers=headers, **kwargs)
            if response.status_code != 401 or attempt:
                return response
            self._token = None
        raise AssertionError("unreachable")

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """:meth:`request` that raises on an error status (with the body) and returns the JSON."""
        response = self.request(method, path, **kwargs)
        if response.is_error:
            raise httpx.HTTPStatusError(
                f"{method} {path}: {response.status_code} {response.text[:2000]}",
                request=response.request,
                response=response,
            )
        return response.json() if response.content else None

    def healthy(self) -> bool:
        """Whether the api-server answers its (unauthenticated) health endpoint."""
        try:
            return self._http.get("/api/v2/monitor/health").status_code == 200
        except httpx.HTTPError:
            return False

    def dag_ids(self) -> list[str]:
        """Ids of the DAGs the api-server lists (first page of 1000)."""
        return [dag["dag_id"] for dag in self.call("GET", "dags", params={"limit": 1000})["dags"]]
