"""The AWS account and the deployment's own resources: SageMaker execution roles (the policy a job needs,
the roles Trainforge creates), the configuration checks (``trainforge validate``), and liveness.
"""
