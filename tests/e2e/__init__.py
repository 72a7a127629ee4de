"""End-to-end tests with the real embedded model."""
