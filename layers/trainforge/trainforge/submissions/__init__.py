"""The submission queue's worker: every job reaches SageMaker through it, whether a dataset manifest or a
job spec dropped in S3 or a job or tuning job requested through the API.
"""
