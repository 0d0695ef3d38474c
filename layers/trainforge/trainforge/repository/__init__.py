"""Data access: every SQL statement Trainforge runs lives here.

State changes are applied with one conditional statement each (an upsert with its history row and, when
terminal, its report in the same statement), so a duplicate or late event can never move a job backwards and a
change is never half-applied. Every statement that writes a status is in :mod:`trainforge.repository.status`,
the one door for a change of status.
"""

from __future__ import annotations

from trainforge.repository.builds import get_build, list_builds
from trainforge.repository.capacity import (
    ensure_pool,
    finished_jobs_holding_capacity,
    instances_in_use,
    pool_state,
    pool_states,
    pools_with_waiting_jobs,
    queue_position,
    quotas_read_at,
    release,
    store_quotas,
    waiting_jobs,
)
from trainforge.repository.history import history_of, report_of
from trainforge.repository.job_listing import JobFilters, jobs_to_reconcile, list_jobs
from trainforge.repository.jobs import (
    find_job_for_submission,
    get_job,
    get_job_by_name,
    set_log_tail,
    set_warm_pool,
)
from trainforge.repository.paging import MAX_ID, MAX_PAGE_SIZE, decode_cursor, encode_cursor
from trainforge.repository.prices import price_for, prices_read_at, store_prices
from trainforge.repository.status.builds import apply_build_state_change, insert_build
from trainforge.repository.status.jobs import (
    apply_job_state_change,
    finish_before_running,
    insert_pending_job,
    insert_rejected_job,
    mark_submitted,
    record_history,
    record_transitions,
)
from trainforge.repository.status.queue import admit_new, admit_next, expire_waiting, requeue, wait_for_team
from trainforge.repository.status.tuning import (
    apply_tuning_state_change,
    finish_tuning_before_running,
    insert_tuning_job,
    mark_tuning_submitted,
)
from trainforge.repository.teams import (
    commit_budget,
    delete_team,
    finished_jobs_holding_team_resources,
    forget_job,
    get_team,
    list_teams,
    month_spend,
    release_budget,
    release_team_instances,
    take_team_instances,
    teams_with_waiting_jobs,
    upsert_team,
    usage_rows,
    waiting_for_team,
)
from trainforge.repository.tuning import (
    active_tuning_jobs,
    finished_trials_unbooked,
    finished_tuning_jobs_holding_budget,
    forget_tuning_job,
    get_tuning_job,
    get_tuning_job_by_name,
    link_trial,
    list_tuning_jobs,
    pending_tuning_jobs,
    trials_of,
)

__all__ = [
    "MAX_ID",
    "MAX_PAGE_SIZE",
    "JobFilters",
    "active_tuning_jobs",
    "admit_new",
    "admit_next",
    "apply_build_state_change",
    "apply_job_state_change",
    "apply_tuning_state_change",
    "commit_budget",
    "decode_cursor",
    "delete_team",
    "encode_cursor",
    "ensure_pool",
    "expire_waiting",
    "find_job_for_submission",
    "finish_before_running",
    "finish_tuning_before_running",
    "finished_jobs_holding_capacity",
    "finished_jobs_holding_team_resources",
    "finished_trials_unbooked",
    "finished_tuning_jobs_holding_budget",
    "forget_job",
    "forget_tuning_job",
    "get_build",
    "get_job",
    "get_job_by_name",
    "get_team",
    "get_tuning_job",
    "get_tuning_job_by_name",
    "history_of",
    "insert_build",
    "insert_pending_job",
    "insert_rejected_job",
    "insert_tuning_job",
    "instances_in_use",
    "jobs_to_reconcile",
    "link_trial",
    "list_builds",
    "list_jobs",
    "list_teams",
    "list_tuning_jobs",
    "mark_submitted",
    "mark_tuning_submitted",
    "month_spend",
    "pending_tuning_jobs",
    "pool_state",
    "pool_states",
    "pools_with_waiting_jobs",
    "price_for",
    "prices_read_at",
    "queue_position",
    "quotas_read_at",
    "record_history",
    "record_transitions",
    "release",
    "release_budget",
    "release_team_instances",
    "report_of",
    "requeue",
    "set_log_tail",
    "set_warm_pool",
    "store_prices",
    "store_quotas",
    "take_team_instances",
    "teams_with_waiting_jobs",
    "trials_of",
    "upsert_team",
    "usage_rows",
    "wait_for_team",
    "waiting_for_team",
    "waiting_jobs",
]
