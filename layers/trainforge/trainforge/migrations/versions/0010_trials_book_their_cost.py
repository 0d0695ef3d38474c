"""trials book their own cost: a tuning job's finished trial books its cost in its team's month, drawn from its
tuning job's commitment, so a trial reported after its tuning job ended is booked too. Trials of tuning jobs that
still hold a commitment were marked released when linked (their tuning job was to book them at its end): they are
unmarked, and booked by the next sweep or event.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 00:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE training_jobs j SET budget_released_at = NULL FROM tuning_jobs t "
        "WHERE j.tuning_job_name = lower(t.name) AND t.budget_month IS NOT NULL AND t.budget_released_at IS NULL "
        "AND j.budget_released_at IS NOT NULL AND j.budget_held_usd = 0"
    )


def downgrade() -> None:
    # 0009's code books all of a running tuning job's trials at its end: those not yet booked are marked as its to
    # book (those already booked would count twice there: a downgrade while tuning jobs run over-books them).
    op.execute(
        "UPDATE training_jobs j SET budget_released_at = now() FROM tuning_jobs t "
        "WHERE j.tuning_job_name = lower(t.name) AND t.budget_month IS NOT NULL AND t.budget_released_at IS NULL "
        "AND j.budget_released_at IS NULL"
    )
