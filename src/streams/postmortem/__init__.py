"""``streams postmortem``: an incident report of one model over a time range, from the
``results`` and ``alerts`` topics (docs/postmortem.md).

``report`` builds it from lists of records (pure), ``read`` reads the topics,
``render`` and ``svg`` write Markdown or self-contained HTML, ``cli`` is the command.
"""
