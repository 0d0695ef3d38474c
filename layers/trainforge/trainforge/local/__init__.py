"""Local mode's stand-ins: the pipeline on one machine, with an embedded PostgreSQL (``postgres``), an AWS
emulator (``aws/``), a local SageMaker (``sagemaker/``) running jobs by the training-container contract
(``training/``), and a wire proxy that counts round trips (``wire``).

Nothing here is imported by the Lambda handlers; ``pgserver`` and ``moto`` are development dependencies.
"""
