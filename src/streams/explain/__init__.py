"""Explanations of predictions: SHAP values (exact for linear models, shap's Tree and
Kernel explainers otherwise) served from the explanation tier, and anchors on demand.

shap is imported only when a tree or kernel explainer is built (the ``explain``
extra); docs/explain.md says which explainer a model gets and how each is checked.
"""

from streams.explain.artifact import ModelArtifact, load_artifact, save_artifact
from streams.explain.attributions import Attributions

__all__ = ["Attributions", "ModelArtifact", "load_artifact", "save_artifact"]
