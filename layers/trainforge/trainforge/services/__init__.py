"""The services of the contract: training configuration, dataset preparation, SageMaker training."""
