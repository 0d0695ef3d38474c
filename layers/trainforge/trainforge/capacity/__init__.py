"""Instances and money per pool: the account's quotas, admission and the waiting queue (a job waits for
instances instead of failing), prices (AWS's Price List, the bundled table as fallback), and the pacer that
keeps creates within SageMaker's rate.
"""
