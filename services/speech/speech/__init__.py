"""The speech domain shared by the services: audio, text normalisation (and, later, the engine)."""
