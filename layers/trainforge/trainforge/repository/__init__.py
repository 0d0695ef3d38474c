"""Data access: every SQL statement Trainforge runs lives here.

State changes are applied with one conditional statement each (an upsert with its history row and, when
terminal, its report in the same statement), so a duplicate or late event can never move a job backwards and a
change is never half-applied.
"""

from __future__ import annotations

from trainforge.repository.builds import apply_build_state_change, get_build, insert_build, list_builds
from trainforge.repository.history import history_of, record_history, record_transitions, report_of
from trainforge.repository.jobs import (
    JobFilters,
    apply_job_state_change,
    find_job_for_submission,
    finish_before_running,
    get_job,
    get_job_by_name,
    insert_pending_job,
    insert_rejected_job,
    jobs_to_reconcile,
    list_jobs,
    mark_submitted,
    set_log_tail,
)
from trainforge.repository.paging import MAX_ID, MAX_PAGE_SIZE, decode_cursor, encode_cursor

__all__ = [
    "MAX_ID",
    "MAX_PAGE_SIZE",
    "JobFilters",
    "apply_build_state_change",
    "apply_job_state_change",
    "decode_cursor",
    "encode_cursor",
    "find_job_for_submission",
    "finish_before_running",
    "get_build",
    "get_job",
    "get_job_by_name",
    "history_of",
    "insert_build",
    "insert_pending_job",
    "insert_rejected_job",
    "jobs_to_reconcile",
    "list_builds",
    "list_jobs",
    "mark_submitted",
    "record_history",
    "record_transitions",
    "report_of",
    "set_log_tail",
]
