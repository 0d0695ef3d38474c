"""Local SageMaker: training jobs, tuning jobs and warm pools answered as SageMaker answers them, run on this
machine, their record kept across restarts, their state changes published as SageMaker's events.
"""
