"""Trainforge's own events, through an outbox: every change of a job's, a tuning job's or a build's status, and a
team's month crossing 50, 80 or 100% of its budget, writes a row to event_outbox in the statement that made the
change (a trigger of that statement), so a committed change always has its event and a rolled-back one never
does. A relay publishes the rows to EventBridge and marks them; a row's id is its event's stable id.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each trigger function builds its event's detail from the row as the statement left it; the relay adds what only
# it knows (the cost so far, the API's URL) when it publishes.
FUNCTIONS = {
    "trainforge_job_event": """
        INSERT INTO event_outbox (detail_type, team, subject, subject_id, detail)
        VALUES ('Trainforge Job State Change', NEW.team, 'job', NEW.id, jsonb_build_object(
            'job_id', NEW.id, 'job_name', NEW.job_name, 'team', NEW.team, 'origin', NEW.origin,
            'old_status', CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, 'new_status', NEW.status,
            'secondary_status', NEW.secondary_status, 'reason', NEW.failure_reason,
            'instance_type', NEW.instance_type, 'instance_count', NEW.instance_count,
            'tuning_job_name', NEW.tuning_job_name));
        IF NEW.status = 'WaitingForCapacity' THEN
            INSERT INTO event_outbox (detail_type, team, subject, subject_id, detail)
            VALUES ('Trainforge Job Waiting For Capacity', NEW.team, 'job', NEW.id, jsonb_build_object(
                'job_id', NEW.id, 'job_name', NEW.job_name, 'team', NEW.team,
                'old_status', CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, 'new_status', NEW.status,
                'capacity_pool', NEW.capacity_pool, 'instance_type', NEW.instance_type,
                'instance_count', NEW.instance_count, 'reason', NEW.secondary_status));
        END IF;
        RETURN NULL;
    """,
    "trainforge_tuning_job_event": """
        INSERT INTO event_outbox (detail_type, team, subject, subject_id, detail)
        VALUES ('Trainforge Tuning Job State Change', NEW.team, 'tuning_job', NEW.id, jsonb_build_object(
            'tuning_job_id', NEW.id, 'tuning_job_name', NEW.name, 'team', NEW.team,
            'old_status', CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, 'new_status', NEW.status,
            'reason', NEW.failure_reason, 'training_counts', NEW.training_counts,
            'best_training_job', NEW.best_training_job, 'best_objective_value', NEW.best_objective_value,
            'objective_metric', NEW.objective_metric));
        RETURN NULL;
    """,
    "trainforge_build_event": """
        INSERT INTO event_outbox (detail_type, team, subject, subject_id, detail)
        VALUES ('Trainforge Build State Change', NEW.team, 'build', NEW.id, jsonb_build_object(
            'build_id', NEW.id, 'codebuild_id', NEW.build_id, 'team', NEW.team,
            'old_status', CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, 'new_status', NEW.status,
            'reason', NEW.failure_reason, 'image_uri', NEW.image_uri));
        RETURN NULL;
    """,
    # The highest threshold a month's spend crossed in this statement (one event, however far it jumped).
    "trainforge_budget_event": """
        DECLARE
            budget numeric;
            crossed integer;
        BEGIN
            SELECT monthly_budget_usd INTO budget FROM teams WHERE name = NEW.team;
            IF budget IS NULL OR budget <= 0 THEN
                RETURN NULL;
            END IF;
            SELECT max(t) INTO crossed FROM unnest(ARRAY[50, 80, 100]) AS t
            WHERE NEW.spent_usd >= budget * t / 100
              AND (TG_OP = 'INSERT' OR OLD.spent_usd < budget * t / 100);
            IF crossed IS NOT NULL THEN
                INSERT INTO event_outbox (detail_type, team, subject, subject_id, detail)
                VALUES ('Trainforge Budget Threshold Reached', NEW.team, 'team', NULL, jsonb_build_object(
                    'team', NEW.team, 'month', to_char(NEW.month, 'YYYY-MM'), 'threshold_percent', crossed,
                    'spent_usd', NEW.spent_usd, 'committed_usd', NEW.committed_usd,
                    'monthly_budget_usd', budget));
            END IF;
            RETURN NULL;
        END;
    """,
}

# Written out whole (no SQL is built from values here, identifiers included): the trigger functions, then for
# each status table a trigger on insert and one on a change of status.
CREATE_FUNCTIONS = tuple(
    "CREATE FUNCTION "
    + name
    + "() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
    + (body if body.lstrip().startswith("DECLARE") else "BEGIN\n" + body + "\nEND;")
    + "\n$fn$"
    for name, body in FUNCTIONS.items()
)
CREATE_TRIGGERS = (
    "CREATE TRIGGER training_jobs_created AFTER INSERT ON training_jobs FOR EACH ROW "
    "EXECUTE FUNCTION trainforge_job_event()",
    "CREATE TRIGGER training_jobs_status_changed AFTER UPDATE OF status ON training_jobs FOR EACH ROW "
    "WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION trainforge_job_event()",
    "CREATE TRIGGER tuning_jobs_created AFTER INSERT ON tuning_jobs FOR EACH ROW "
    "EXECUTE FUNCTION trainforge_tuning_job_event()",
    "CREATE TRIGGER tuning_jobs_status_changed AFTER UPDATE OF status ON tuning_jobs FOR EACH ROW "
    "WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION trainforge_tuning_job_event()",
    "CREATE TRIGGER container_builds_created AFTER INSERT ON container_builds FOR EACH ROW "
    "EXECUTE FUNCTION trainforge_build_event()",
    "CREATE TRIGGER container_builds_status_changed AFTER UPDATE OF status ON container_builds FOR EACH ROW "
    "WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION trainforge_build_event()",
    "CREATE TRIGGER team_spend_budget AFTER INSERT OR UPDATE OF spent_usd ON team_spend FOR EACH ROW "
    "EXECUTE FUNCTION trainforge_budget_event()",
)
DROP = (
    "DROP TRIGGER team_spend_budget ON team_spend",
    "DROP TRIGGER container_builds_status_changed ON container_builds",
    "DROP TRIGGER container_builds_created ON container_builds",
    "DROP TRIGGER tuning_jobs_status_changed ON tuning_jobs",
    "DROP TRIGGER tuning_jobs_created ON tuning_jobs",
    "DROP TRIGGER training_jobs_status_changed ON training_jobs",
    "DROP TRIGGER training_jobs_created ON training_jobs",
    "DROP FUNCTION trainforge_budget_event()",
    "DROP FUNCTION trainforge_build_event()",
    "DROP FUNCTION trainforge_tuning_job_event()",
    "DROP FUNCTION trainforge_job_event()",
)


def upgrade() -> None:
    op.create_table(
        "event_outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("detail_type", sa.String(64), nullable=False),
        sa.Column("team", sa.String(40), nullable=True),
        sa.Column("subject", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.BigInteger(), nullable=True),
        sa.Column("detail", JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_outbox")),
    )
    op.create_index(
        "ix_event_outbox_unpublished",
        "event_outbox",
        ["id"],
        postgresql_where=sa.text("published_at IS NULL"),
    )
    for statement in (*CREATE_FUNCTIONS, *CREATE_TRIGGERS):
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP:
        op.execute(statement)
    op.drop_index("ix_event_outbox_unpublished", table_name="event_outbox")
    op.drop_table("event_outbox")
