"""The Asterisk runtime: provisioning, rendered configuration, the external programs we run."""
