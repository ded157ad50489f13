"""The ingest service: subscriptions and keys, projects, dataset upload and validation."""
