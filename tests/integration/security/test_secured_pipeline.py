"""The whole pipeline over SASL_SSL with SCRAM-SHA-512: the simulator produces, the
worker (aiokafka through Faust, and its librdkafka admin and readers) consumes and
alerts, all through the secured listener; the silent-zeros incident is found as on
a PLAINTEXT cluster (tests/integration/worker/test_pipeline.py)."""

from __future__ import annotations

import pytest
from tests.integration.security.conftest import SecuredBroker
from tests.integration.worker.test_pipeline import one_incident, run_scenario

pytestmark = pytest.mark.integration


def test_silent_zeros_over_sasl_ssl_pages_once_then_resolves(
    secured_broker: SecuredBroker, deploy
) -> None:
    affected = ["user_clicks_7d", "user_sessions_30d", "user_dwell_time_avg_s"]
    kafka = {"bootstrap": secured_broker.secure, "security": secured_broker.security()}
    d = deploy(kafka=kafka)
    _, alerts = run_scenario(
        d, 60, 40, 1000, scenario="silent-zeros", affect=affected, onset_s=900, recover_s=1800
    )
    firing, _ = one_incident(alerts, affected)
    assert firing["severity"] == "critical"
    assert secured_broker.password not in d.worker_logs()
