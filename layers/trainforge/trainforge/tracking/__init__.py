"""What SageMaker reports, and reading it back: state changes (from events or ``DescribeTrainingJob``)
applied once and in order, the reconciler for events that went missing, jobs and their reports read back, a
job's logs and metric curves.
"""
