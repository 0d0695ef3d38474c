"""A training job's settings: what a user asks for (``TrainingConfig``), validated as SageMaker would, and
what SageMaker is sent (the contract's ``SageMakerJobConfig`` and its ``CreateTrainingJob`` request):
compute, hyperparameters, channels, distribution, network and encryption.
"""
