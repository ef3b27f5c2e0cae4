"""Pure parts of the store and the domain: URLs, pages, timestamp handling, entity validation."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import Dialect
from sqlalchemy.dialects import postgresql, sqlite

from connector.domain import Asset, FileDataAddress, HttpDataAddress, Negotiation
from connector.dsp.states import NegotiationState, Role
from connector.errors import ConnectorError
from connector.store import Conflict, DuplicateKey, MemoryStore, NotFound, Page, StoreError, UnsupportedDatabase
from connector.store.sql.tables import UtcDateTime
from connector.store.sql.url import async_url

pytestmark = pytest.mark.unit

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///state/connector.db", "sqlite+aiosqlite:///state/connector.db"),
        ("sqlite:////abs/connector.db", "sqlite+aiosqlite:////abs/connector.db"),
        ("postgresql://postgres@127.0.0.1:5432/test", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"),
        ("postgres://u:p@db/x", "postgresql+asyncpg://u:p@db/x"),
        ("postgresql+asyncpg://db/x", "postgresql+asyncpg://db/x"),
    ],
)
def test_async_url_picks_the_async_driver(url: str, expected: str) -> None:
    assert async_url(url) == expected


@pytest.mark.parametrize("url", ["mysql://db/x", "connector.db", "sqlite://", "sqlite:///:memory:"])
def test_async_url_rejects_what_the_sql_store_cannot_serve(url: str) -> None:
    with pytest.raises(UnsupportedDatabase):
        async_url(url)


def test_async_url_error_does_not_echo_credentials() -> None:
    with pytest.raises(UnsupportedDatabase) as info:
        async_url("mysql://user:secret@db/x")
    assert "secret" not in str(info.value)


def test_store_errors_are_connector_errors() -> None:
    for error in (NotFound, Conflict, DuplicateKey, UnsupportedDatabase):
        assert issubclass(error, StoreError)
        assert issubclass(error, ConnectorError)
    assert {NotFound.code, Conflict.code, DuplicateKey.code} == {"not-found", "conflict", "duplicate-key"}


@given(total=st.integers(0, 30), offset=st.integers(0, 30), limit=st.integers(1, 10))
def test_pages_walk_a_listing_without_gaps(total: int, offset: int, limit: int) -> None:
    rows = list(range(total))
    page = Page.of(rows[offset : offset + limit + 1], offset=offset, limit=limit)
    assert list(page.items) == rows[offset : offset + limit]
    assert page.next_offset == (offset + limit if offset + limit < total else None)


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])
def test_utc_datetime_round_trips_any_zone_to_utc(dialect: Dialect) -> None:
    column = UtcDateTime()
    cest = dt.timezone(dt.timedelta(hours=2))
    stored = column.process_bind_param(dt.datetime(2026, 6, 1, 14, 0, tzinfo=cest), dialect)
    assert stored is not None
    loaded = column.process_result_value(stored, dialect)
    assert loaded == dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
    assert loaded is not None
    assert loaded.utcoffset() == dt.timedelta(0)


def test_utc_datetime_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        UtcDateTime().process_bind_param(dt.datetime(2026, 1, 1), sqlite.dialect())


def negotiation(**over: object) -> Negotiation:
    values: dict[str, object] = {
        "id": "n",
        "role": Role.PROVIDER,
        "counter_party_id": "did:web:c",
        "counter_party_address": "https://c.example",
        "state": NegotiationState.REQUESTED,
        "asset_id": "a",
        "created_at": T0,
        "updated_at": T0,
    }
    return Negotiation.model_validate({**values, **over})


def test_entities_are_frozen_and_evolve_validates() -> None:
    entity = negotiation()
    with pytest.raises(ValidationError):
        entity.state = NegotiationState.AGREED  # type: ignore[misc]
    assert entity.evolve(state="AGREED").state is NegotiationState.AGREED
    with pytest.raises(ValidationError):
        entity.evolve(state="DONE")
    with pytest.raises(ValidationError):
        entity.evolve(version=-1)


def test_entities_need_aware_timestamps_and_store_them_in_utc() -> None:
    with pytest.raises(ValidationError):
        negotiation(created_at=dt.datetime(2026, 1, 1))
    local = dt.datetime(2026, 1, 1, 13, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert negotiation(created_at=local).created_at.tzinfo is dt.UTC


def test_data_addresses_are_discriminated_by_kind() -> None:
    values = {"id": "a", "title": "t", "created_at": T0}
    http = Asset.model_validate({**values, "data_address": {"kind": "http", "base_url": "https://b"}})
    file = Asset.model_validate({**values, "data_address": {"kind": "file", "path": "/d"}})
    assert isinstance(http.data_address, HttpDataAddress)
    assert isinstance(file.data_address, FileDataAddress)
    with pytest.raises(ValidationError):
        Asset.model_validate({**values, "data_address": {"kind": "s3", "bucket": "x"}})
    with pytest.raises(ValidationError):
        Asset.model_validate({**values, "data_address": {"kind": "http", "base_url": "https://b"}, "extra": 1})


async def test_a_closed_memory_store_refuses_transactions() -> None:
    store = MemoryStore()
    await store.close()
    with pytest.raises(StoreError, match="closed"):
        async with store.transaction():
            pass
