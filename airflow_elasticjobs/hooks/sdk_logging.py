"""Keep azure-core's per-request HTTP log lines out of task and triggerer logs."""

from __future__ import annotations

import logging

#: The logger of azure-core's ``HttpLoggingPolicy`` (every request and response, with headers, at INFO).
HTTP_LOGGING_POLICY_LOGGER = "azure.core.pipeline.policies.http_logging_policy"


def quiet_http_logging() -> None:
    """Log azure-core's HTTP requests and responses at WARNING and above only, unless configured.

    azure-core logs every request and response with its headers at INFO, which in deferred mode
    means several lines per poll round in the triggerer's log (the Azure provider's WASB hook
    quiets the same logger). Only that one logger is touched, and only while no level is set on it:
    a level configured explicitly (e.g. DEBUG while troubleshooting) is kept. The hooks call this
    whenever they build a client.
    """
    logger = logging.getLogger(HTTP_LOGGING_POLICY_LOGGER)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)
