"""Plumbing every Attune service shares: settings, logging, Postgres, events, storage, gRPC."""
