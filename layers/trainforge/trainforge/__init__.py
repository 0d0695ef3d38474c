"""Trainforge: a serverless control plane for Amazon SageMaker training.

The package knows nothing of Lambda: handlers in ``lambdas/`` parse events and call into it.
"""

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``trainforge.Client`` for notebooks and scripts, loaded on first use: a Lambda handler importing
    ``trainforge`` never pays for it."""
    if name == "Client":
        # only a notebook or a script asks for it: a handler's cold start does not load the client
        from trainforge.client import Client

        return Client
    raise AttributeError(f"module 'trainforge' has no attribute {name!r}")
