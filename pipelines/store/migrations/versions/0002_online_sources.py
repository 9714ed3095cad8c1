"""online sources: lyrics lookup cache and remote playlists

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 18:17:12.840059
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lyrics_lookups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=40), nullable=False),
    sa.Column('query_key', sa.String(length=64), nullable=False),
    sa.Column('query', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('url', sa.String(length=1000), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('instrumental', sa.Boolean(), nullable=False),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('found', 'not_found', 'error')", name=op.f('ck_lyrics_lookups_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lyrics_lookups')),
    sa.UniqueConstraint('provider', 'query_key', name=op.f('uq_lyrics_lookups_provider_query_key'))
    )
    with op.batch_alter_table('lyrics_lookups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lyrics_lookups_expires_at'), ['expires_at'], unique=False)

    op.create_table('remote_playlists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('playlist_id', sa.Integer(), nullable=False),
    sa.Column('system', sa.String(length=40), nullable=False),
    sa.Column('remote_id', sa.String(length=200), nullable=False),
    sa.Column('snapshot_id', sa.String(length=200), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['playlist_id'], ['playlists.id'], name=op.f('fk_remote_playlists_playlist_id_playlists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remote_playlists')),
    sa.UniqueConstraint('playlist_id', name=op.f('uq_remote_playlists_playlist_id')),
    sa.UniqueConstraint('system', 'remote_id', name=op.f('uq_remote_playlists_system_remote_id'))
    )


def downgrade() -> None:
    op.drop_table('remote_playlists')
    with op.batch_alter_table('lyrics_lookups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lyrics_lookups_expires_at'))

    op.drop_table('lyrics_lookups')
