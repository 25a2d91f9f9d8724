"""voxcast: multi-tenant broadcasting and contact-center platform on Asterisk."""
