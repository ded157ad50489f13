"""The trainer service: the model registry (base and custom models) and, later, adaptation jobs."""
