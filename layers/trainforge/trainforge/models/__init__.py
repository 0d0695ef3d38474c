"""Shapes, with no behaviour beyond their own checks: a job's settings declared once (``training_settings``),
the REST API's shapes (``api/``), rows as read from the database (``rows``), state changes as reported
(``changes``), statuses and their ranks (``status``), the ORM schema (``database``), SageMaker's limits and
instance types, and team definitions (shared with the stack)."""
