"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 17:55:59.852685
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('library_state',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_library_state'))
    )
    op.create_table('playlists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_playlists')),
    sa.UniqueConstraint('name', name=op.f('uq_playlists_name'))
    )
    op.create_table('songs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('artist', sa.String(length=500), nullable=False),
    sa.Column('album', sa.String(length=500), nullable=False),
    sa.Column('genre', sa.String(length=200), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.Column('explicit', sa.Boolean(), nullable=True),
    sa.Column('identity_key', sa.String(length=1100), nullable=False),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_songs'))
    )
    with op.batch_alter_table('songs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_songs_identity_key'), ['identity_key'], unique=False)

    op.create_table('analysis_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('playlist_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('profile', sa.String(length=40), nullable=False),
    sa.Column('sensitivity', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('lease_owner', sa.String(length=200), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('run_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('queued', 'running', 'done', 'cancelled', 'failed')", name=op.f('ck_analysis_jobs_status')),
    sa.ForeignKeyConstraint(['playlist_id'], ['playlists.id'], name=op.f('fk_analysis_jobs_playlist_id_playlists'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analysis_jobs'))
    )
    with op.batch_alter_table('analysis_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analysis_jobs_playlist_id'), ['playlist_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_analysis_jobs_status'), ['status'], unique=False)

    op.create_table('lyrics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('song_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['song_id'], ['songs.id'], name=op.f('fk_lyrics_song_id_songs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lyrics')),
    sa.UniqueConstraint('song_id', name=op.f('uq_lyrics_song_id'))
    )
    op.create_table('playlist_songs',
    sa.Column('playlist_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('song_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['playlist_id'], ['playlists.id'], name=op.f('fk_playlist_songs_playlist_id_playlists'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['song_id'], ['songs.id'], name=op.f('fk_playlist_songs_song_id_songs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('playlist_id', 'position', name=op.f('pk_playlist_songs'))
    )
    with op.batch_alter_table('playlist_songs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_playlist_songs_song_id'), ['song_id'], unique=False)

    op.create_table('song_external_ids',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('song_id', sa.Integer(), nullable=False),
    sa.Column('system', sa.String(length=40), nullable=False),
    sa.Column('value', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['song_id'], ['songs.id'], name=op.f('fk_song_external_ids_song_id_songs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_song_external_ids')),
    sa.UniqueConstraint('system', 'value', name=op.f('uq_song_external_ids_system_value'))
    )
    with op.batch_alter_table('song_external_ids', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_song_external_ids_song_id'), ['song_id'], unique=False)

    op.create_table('verdict_overrides',
    sa.Column('song_id', sa.Integer(), nullable=False),
    sa.Column('verdict', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("verdict IN ('approved', 'review', 'flagged')", name=op.f('ck_verdict_overrides_verdict')),
    sa.ForeignKeyConstraint(['song_id'], ['songs.id'], name=op.f('fk_verdict_overrides_song_id_songs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('song_id', name=op.f('pk_verdict_overrides'))
    )
    op.create_table('analyses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('song_id', sa.Integer(), nullable=False),
    sa.Column('analyzer_version', sa.String(length=100), nullable=False),
    sa.Column('profile', sa.String(length=40), nullable=False),
    sa.Column('lyrics_hash', sa.String(length=64), nullable=False),
    sa.Column('sensitivity', sa.String(length=20), nullable=False),
    sa.Column('verdict', sa.String(length=20), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('emotion', sa.String(length=40), nullable=False),
    sa.Column('sentiment', sa.String(length=40), nullable=False),
    sa.Column('top_theme', sa.String(length=40), nullable=True),
    sa.Column('concerns', sa.JSON(), nullable=False),
    sa.Column('seconds', sa.Double(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['analysis_jobs.id'], name=op.f('fk_analyses_job_id_analysis_jobs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['song_id'], ['songs.id'], name=op.f('fk_analyses_song_id_songs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analyses')),
    sa.UniqueConstraint('song_id', 'analyzer_version', 'lyrics_hash', name=op.f('uq_analyses_song_id_analyzer_version_lyrics_hash'))
    )
    with op.batch_alter_table('analyses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analyses_analyzer_version_verdict'), ['analyzer_version', 'verdict'], unique=False)
        batch_op.create_index(batch_op.f('ix_analyses_song_id'), ['song_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_analyses_top_theme'), ['top_theme'], unique=False)

    op.create_table('analysis_job_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('song_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('claimed_by', sa.String(length=200), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('analysis_id', sa.Integer(), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'running', 'done', 'cached', 'failed', 'skipped', 'cancelled')", name=op.f('ck_analysis_job_items_status')),
    sa.ForeignKeyConstraint(['analysis_id'], ['analyses.id'], name=op.f('fk_analysis_job_items_analysis_id_analyses'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['job_id'], ['analysis_jobs.id'], name=op.f('fk_analysis_job_items_job_id_analysis_jobs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['song_id'], ['songs.id'], name=op.f('fk_analysis_job_items_song_id_songs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analysis_job_items')),
    sa.UniqueConstraint('job_id', 'song_id', name=op.f('uq_analysis_job_items_job_id_song_id'))
    )
    with op.batch_alter_table('analysis_job_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analysis_job_items_job_id_status_position'), ['job_id', 'status', 'position'], unique=False)
        batch_op.create_index(batch_op.f('ix_analysis_job_items_song_id'), ['song_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('analysis_job_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analysis_job_items_song_id'))
        batch_op.drop_index(batch_op.f('ix_analysis_job_items_job_id_status_position'))

    op.drop_table('analysis_job_items')
    with op.batch_alter_table('analyses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analyses_top_theme'))
        batch_op.drop_index(batch_op.f('ix_analyses_song_id'))
        batch_op.drop_index(batch_op.f('ix_analyses_analyzer_version_verdict'))

    op.drop_table('analyses')
    op.drop_table('verdict_overrides')
    with op.batch_alter_table('song_external_ids', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_song_external_ids_song_id'))

    op.drop_table('song_external_ids')
    with op.batch_alter_table('playlist_songs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_playlist_songs_song_id'))

    op.drop_table('playlist_songs')
    op.drop_table('lyrics')
    with op.batch_alter_table('analysis_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analysis_jobs_status'))
        batch_op.drop_index(batch_op.f('ix_analysis_jobs_playlist_id'))

    op.drop_table('analysis_jobs')
    with op.batch_alter_table('songs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_songs_identity_key'))

    op.drop_table('songs')
    op.drop_table('playlists')
    op.drop_table('library_state')
