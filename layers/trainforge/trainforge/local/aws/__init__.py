"""Local mode's AWS: moto's server (kept across restarts), the two APIs moto does not serve (Price List,
Service Quotas), a throttling SageMaker endpoint, CodeBuild without Docker, and the resources the stacks
would deploy.
"""
