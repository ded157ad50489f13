"""The deployer service: endpoints serving a model, recognition on them, model swaps."""
