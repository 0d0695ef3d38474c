"""Local mode: Trainforge's whole pipeline on one machine, with no AWS account and no Docker.

It reuses the Lambda handlers in ``lambdas/`` and the routing table in ``trainforge.routing``: EventBridge rules
are created in the emulator from that table, their SQS queues are polled the way Lambda's event source mapping
polls them, and API requests become API Gateway proxy events for the API handler.
"""
