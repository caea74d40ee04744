"""Errors of talking to Kafka: a broker that cannot be reached, a topic that cannot be
made, a message that was not delivered."""

from __future__ import annotations

from streams.errors import StreamsError

__all__ = ["BrokerError", "TopicError"]


class BrokerError(StreamsError):
    """Kafka could not be reached or did not accept a request: check the broker it names."""

    @property
    def summary(self) -> str:
        """First line of the message, for CLIs that must print exactly one line."""
        text = str(self).strip()
        return text.splitlines()[0] if text else type(self).__name__


class TopicError(BrokerError):
    """Topics could not be created or did not show up in time: check the broker and the spec."""
