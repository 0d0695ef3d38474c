"""The `trainforge` command (not part of the Lambda layer)."""
