"""The catalogue's SQL schema (typed ORM); Alembic owns it (``catalog/store/migrations``).

``participants`` holds the current status and crawl state, ``submissions`` every version with its latest
verification report, ``verifications`` the history of every check (audit trail), ``datasets`` the discovered
datasets/offers, ``feed_events`` the federation change feed (``seq`` is the cursor), ``peers`` the cursor per
followed catalogue.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, DateTime, Dialect, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes in, aware UTC out; SQLite stores naive UTC so text comparison stays correct."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given to the catalogue store")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: UtcDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


class ParticipantRow(Base):
    __tablename__ = "participants"

    did: Mapped[str] = mapped_column(String(), primary_key=True)
    status: Mapped[str] = mapped_column(String(), index=True)
    reason: Mapped[str | None] = mapped_column(Text())
    name: Mapped[str | None] = mapped_column(Text())
    current_submission: Mapped[int | None] = mapped_column(Integer())
    expires_at: Mapped[dt.datetime | None]
    origin: Mapped[str] = mapped_column(String())
    updated_at: Mapped[dt.datetime]
    crawl_endpoint: Mapped[str | None] = mapped_column(Text())
    crawled_at: Mapped[dt.datetime | None]
    crawl_error: Mapped[str | None] = mapped_column(Text())
    crawl_failures: Mapped[int] = mapped_column(Integer(), default=0)


class SubmissionRow(Base):
    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("participant", "version"),)

    id: Mapped[int] = mapped_column(Integer(), primary_key=True, autoincrement=True)
    participant: Mapped[str] = mapped_column(String(), index=True)
    version: Mapped[int] = mapped_column(Integer())
    digest: Mapped[str] = mapped_column(String(), index=True)
    format: Mapped[str] = mapped_column(String())
    presentation: Mapped[str] = mapped_column(Text())
    submitted_at: Mapped[dt.datetime]
    origin: Mapped[str] = mapped_column(String())
    compliant: Mapped[bool] = mapped_column(Boolean())
    report: Mapped[dict[str, Any]]
    checked_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime | None]
    compliance_credential: Mapped[str | None] = mapped_column(Text())


class VerificationRow(Base):
    __tablename__ = "verifications"

    id: Mapped[int] = mapped_column(Integer(), primary_key=True, autoincrement=True)
    submission_id: Mapped[int] = mapped_column(Integer(), index=True)
    checked_at: Mapped[dt.datetime]
    reason: Mapped[str] = mapped_column(String())
    compliant: Mapped[bool] = mapped_column(Boolean())
    trust: Mapped[dict[str, Any]]
    failures: Mapped[list[Any]]


class DatasetRow(Base):
    __tablename__ = "datasets"

    participant: Mapped[str] = mapped_column(String(), primary_key=True)
    source: Mapped[str] = mapped_column(String(), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(String(), primary_key=True)
    data: Mapped[dict[str, Any]]
    updated_at: Mapped[dt.datetime]


class FeedEventRow(Base):
    __tablename__ = "feed_events"

    seq: Mapped[int] = mapped_column(Integer(), primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String())
    participant: Mapped[str] = mapped_column(String())
    digest: Mapped[str | None] = mapped_column(String())
    presentation: Mapped[str | None] = mapped_column(Text())
    origin: Mapped[str] = mapped_column(String())
    at: Mapped[dt.datetime]


Index("ix_feed_events_participant", FeedEventRow.participant)


class PeerRow(Base):
    __tablename__ = "peers"

    url: Mapped[str] = mapped_column(String(), primary_key=True)
    did: Mapped[str] = mapped_column(String())
    cursor: Mapped[int] = mapped_column(Integer(), default=0)
    synced_at: Mapped[dt.datetime | None]
    error: Mapped[str | None] = mapped_column(Text())
    failures: Mapped[int] = mapped_column(Integer(), default=0)
