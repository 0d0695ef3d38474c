"""A local job's processes, by the training-container contract: ``/opt/ml``-style folders, the toolkit's
``SM_*`` variables, its data and checkpoints, one process per host, its logs and metrics shipped where
SageMaker writes them.
"""
