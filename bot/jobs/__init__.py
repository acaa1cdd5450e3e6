"""The durable job queue and its worker."""
