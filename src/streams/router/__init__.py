"""The alert router: consumes ``alerts`` and delivers each state change to PagerDuty.

``rules`` reads the routing file, ``pagerduty`` maps an alert to an Events API v2 body
and sends it with retries, ``service`` is the consume loop that commits an offset only
once its alert was delivered, dropped by a rule or dead-lettered.
"""
