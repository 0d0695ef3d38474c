"""Local mode: the pipeline on one machine, with embedded PostgreSQL and an AWS emulator.

Nothing here is imported by the Lambda handlers; ``pgserver`` and ``moto`` are development dependencies.
"""
