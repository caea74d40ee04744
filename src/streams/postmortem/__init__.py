"""``streams postmortem``: an incident report of one model over a time range, from the
``results`` and ``alerts`` topics (docs/postmortem.md).

``report`` builds it from lists of records (pure): ``timeline`` pairs the alert state
changes into incidents, ``results`` keeps the windows, ``charts`` picks the signals,
``formats`` parses and prints times. ``read`` reads the topics. ``render`` writes
Markdown or one offline HTML page from ``tables`` (what both show, with the runbook
links of ``runbooks``), ``sparklines`` (Markdown's charts) and ``streams.plots``
(HTML's, shared with ``streams drift``); the command is ``streams.cli.postmortem``.
"""
