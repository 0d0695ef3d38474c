"""Trainforge: a serverless control plane for Amazon SageMaker training.

The package knows nothing of Lambda: handlers in ``lambdas/`` parse events and call into it.
"""

__version__ = "0.1.0"
