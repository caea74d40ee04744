"""The explanation service's errors: one root, one-line subclasses."""

from streams.errors import StreamsError


class ExplainError(StreamsError):
    """An explanation cannot be set up; the message says what to fix."""


class ArtifactError(ExplainError, ValueError):
    """A model artifact is unusable: save it with ``streams.explain.save_artifact``."""


class MissingExtra(ExplainError, ImportError):
    """shap or scikit-learn is not installed: ``pip install 'streams[explain]'``."""
