"""The service contract's face: ``SageMakerTrainingService`` and the contract's names (its exceptions,
``SageMakerJobConfig``, ``SageMakerContainerBuilder``), at the path the contract gives
(``services/sagemaker_training_service.py``). The work is done by the domain packages beside it."""
