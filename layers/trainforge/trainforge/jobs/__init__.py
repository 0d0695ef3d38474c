"""A training job's life on Trainforge's side: recorded (validated, idempotent, for its team, its ceiling
committed), sent to SageMaker (its input resolved, admitted, paced), cancelled, checked without submitting
(the dry run), started on a warm pool.
"""
