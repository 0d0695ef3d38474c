"""prices say where they came from: each stored price keeps the name of the Price List that answered (AWS's, or a
stand-in such as local mode's, which serves the bundled table), so a cost ceiling never calls a stand-in's price
AWS's. Prices read before this came from the endpoint of their time and keep AWS's name. A job's price_source
(the name and the day it was read) widens to hold a stand-in's longer name whole.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "instance_prices",
        sa.Column("source", sa.String(160), nullable=False, server_default="AWS Price List"),
    )
    op.alter_column("training_jobs", "price_source", type_=sa.String(200), existing_type=sa.String(64))


def downgrade() -> None:
    op.execute("UPDATE training_jobs SET price_source = left(price_source, 64)")
    op.alter_column("training_jobs", "price_source", type_=sa.String(64), existing_type=sa.String(200))
    op.drop_column("instance_prices", "source")
