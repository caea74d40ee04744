"""The producer client for model servers: log predictions and labels to Kafka.

    from streams.client import PredictionLogger
    with PredictionLogger("kafka:9092") as predictions:
        predictions.log(event)   # a PredictionEvent or its dict; returns at once

Importable without Faust (no faust or aiokafka import anywhere below): model servers
depend on confluent-kafka, orjson, pydantic, numpy and prometheus_client only.
"""

from streams.client.events import InvalidEvent
from streams.client.logger import ClientStats, EventLogger, LabelLogger, PredictionLogger

__all__ = ["ClientStats", "EventLogger", "InvalidEvent", "LabelLogger", "PredictionLogger"]
