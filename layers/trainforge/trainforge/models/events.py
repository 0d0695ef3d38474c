"""Trainforge's own events: their detail-types (the outbox's triggers write these names; subscriptions filter on
them). Their shapes are documented in docs/events/."""

from __future__ import annotations

JOB_STATE_CHANGE = "Trainforge Job State Change"
TUNING_JOB_STATE_CHANGE = "Trainforge Tuning Job State Change"
BUILD_STATE_CHANGE = "Trainforge Build State Change"
JOB_WAITING_FOR_CAPACITY = "Trainforge Job Waiting For Capacity"
BUDGET_THRESHOLD_REACHED = "Trainforge Budget Threshold Reached"
NOTIFICATION_TEST = "Trainforge Notification Test"
DETAIL_TYPES = (
    JOB_STATE_CHANGE,
    TUNING_JOB_STATE_CHANGE,
    BUILD_STATE_CHANGE,
    JOB_WAITING_FOR_CAPACITY,
    BUDGET_THRESHOLD_REACHED,
    NOTIFICATION_TEST,
)
