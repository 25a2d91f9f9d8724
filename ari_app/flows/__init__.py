"""One module per call flow."""
