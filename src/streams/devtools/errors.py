"""Errors of launching the local development broker (``streams kafka start``)."""

from __future__ import annotations

from pathlib import Path

from streams.kafka.errors import BrokerError

__all__ = ["BrokerStartError", "MissingToolError", "PortInUseError"]


class MissingToolError(BrokerError):
    """``java`` or ``mvn`` is absent: install the tool the message names."""

    def __init__(self, tool: str, message: str) -> None:
        super().__init__(message)
        self.tool = tool


class PortInUseError(BrokerError):
    """Another process holds a port the broker needs: stop it or choose another --port."""


class BrokerStartError(BrokerError):
    """The broker died or never became reachable during start: read the log it names."""

    def __init__(self, message: str, log_path: Path, log_tail: list[str]) -> None:
        """``str()`` carries the last log lines so a failing test shows the cause
        directly; ``summary`` stays one line for the CLI."""
        self.log_path = log_path
        self.log_tail = log_tail
        headline = f"{message} (log: {log_path})"
        body = "\n".join(log_tail)
        super().__init__(f"{headline}\n{body}" if body else headline)
