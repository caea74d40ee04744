"""``streams gateway``: predictions over HTTP (KServe's inference logger, plain JSON)
into the predictions topic, through the producer client."""
