"""The one error root. Everything the package raises on purpose derives from
:class:`StreamsError`, so a command catches one class, prints one line and exits 1;
each sub-package declares its own one-line subclasses, whose docstrings say what the
operator should do about them."""


class StreamsError(Exception):
    """A problem the operator can fix; the message says what and where."""
