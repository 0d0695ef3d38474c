"""Trainforge: a serverless control plane for Amazon SageMaker training.

The package knows nothing of Lambda: handlers in ``lambdas/`` parse events and call into it.
"""

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``trainforge.Client`` and ``trainforge.train`` for notebooks and scripts, loaded on first use: a handler importing
    ``trainforge`` never pays for it."""
    if name in ("Client", "train"):
        # only a notebook or a script asks for them: a handler's cold start does not load the client
        from trainforge import client

        return getattr(client, name)
    raise AttributeError(f"module 'trainforge' has no attribute {name!r}")
