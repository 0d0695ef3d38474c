"""Hyperparameter tuning jobs: asked for and validated like a training job, sent with
``CreateHyperParameterTuningJob`` through the same queue and pacer, followed through SageMaker's events, their
trials linked and booked.
"""
