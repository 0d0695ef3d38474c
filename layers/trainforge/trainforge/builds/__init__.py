"""Training images: rendered (Dockerfile, buildspec), built by AWS CodeBuild (never a local Docker) and copied
through ECR's API (the contract's ``SageMakerContainerBuilder``), and recorded from CodeBuild's events.
"""
