"""CDK entry point (the stacks arrive with the infrastructure work)."""
