"""Personal data kept out of the pipeline: per-field redaction rules (redaction.py)."""
