"""Numbers: the extension and DID pools, and where a DID's calls go."""
