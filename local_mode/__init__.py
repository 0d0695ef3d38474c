"""Local mode: Trainforge's whole pipeline on one machine, with no AWS account and no Docker.

It reuses the Lambda handlers in ``lambdas/`` and the routing table in ``trainforge.routing``: EventBridge rules
are created in the emulator from that table, their SQS queues are polled the way Lambda's event source mapping
polls them, and API requests become API Gateway proxy events for the API handler.
"""

import warnings

# pgserver asks platformdirs for a runtime folder it never uses; where XDG_RUNTIME_DIR is unset (containers, CI,
# sudo) that warns at every start, a line a newcomer would take for a problem.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
