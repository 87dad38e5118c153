"""api tokens: ids, names, prefixes, last use, bootstrap

Revision ID: 25db0d3a575a
Revises: 139da21b20b7
Create Date: 2026-11-29 12:05:39.516619

Tokens made before keep an empty prefix (only their digest is known); the one labelled
PROCTORFLOW_LMS_TOKEN becomes the bootstrap token, replaced when that setting changes.
"""
import uuid
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import models.tables


revision: str = '25db0d3a575a'
down_revision: Union[str, None] = '139da21b20b7'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('apitoken', schema=None) as batch_op:
        batch_op.alter_column('label', new_column_name='name')
        batch_op.add_column(sa.Column('id', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(
            sa.Column('prefix', sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default='')
        )
        batch_op.add_column(sa.Column('bootstrap', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('last_used_at', models.tables.UTCDateTime(), nullable=True))

    tokens = sa.table(
        'apitoken',
        sa.column('token_sha256', sa.String()),
        sa.column('id', sa.String()),
        sa.column('name', sa.String()),
        sa.column('bootstrap', sa.Boolean()),
    )
    connection = op.get_bind()
    for digest, name in connection.execute(sa.select(tokens.c.token_sha256, tokens.c.name)).all():
        connection.execute(
            tokens.update()
            .where(tokens.c.token_sha256 == digest)
            .values(id=str(uuid.uuid4()), bootstrap=name == 'PROCTORFLOW_LMS_TOKEN')
        )

    with op.batch_alter_table('apitoken', schema=None) as batch_op:
        batch_op.alter_column('id', existing_type=sqlmodel.sql.sqltypes.AutoString(), nullable=False)
        batch_op.alter_column('prefix', existing_type=sqlmodel.sql.sqltypes.AutoString(), server_default=None)
        batch_op.alter_column('bootstrap', existing_type=sa.Boolean(), server_default=None)
        batch_op.create_index(batch_op.f('ix_apitoken_id'), ['id'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('apitoken', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apitoken_id'))
        batch_op.drop_column('last_used_at')
        batch_op.drop_column('bootstrap')
        batch_op.drop_column('prefix')
        batch_op.drop_column('id')
        batch_op.alter_column('name', new_column_name='label')
