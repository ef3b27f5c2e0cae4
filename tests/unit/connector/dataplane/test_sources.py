"""HTTP source URL building: the asset's proxy settings are honoured and paths never climb above the base."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.dataplane.sources import SourceError, file_info, upstream_url
from connector.domain import FileDataAddress, HttpDataAddress

pytestmark = pytest.mark.unit


def address(**kw: object) -> HttpDataAddress:
    return HttpDataAddress(base_url="https://backend.example.com/api/v1?key=1", **kw)  # type: ignore[arg-type]


def test_plain_base_url() -> None:
    assert upstream_url(address()) == "https://backend.example.com/api/v1?key=1"


def test_path_and_query_proxying() -> None:
    url = upstream_url(address(proxy_path=True, proxy_query=True), sub_path="items/42", query="page=2")
    assert url == "https://backend.example.com/api/v1/items/42?key=1&page=2"


@pytest.mark.parametrize("sub", ["..", "a/../../b", "%2e%2e/x", "a%2Fb", "x%00"])
def test_traversal_refused(sub: str) -> None:
    with pytest.raises(SourceError, match="not allowed"):
        upstream_url(address(proxy_path=True), sub_path=sub)


def test_path_refused_when_not_enabled() -> None:
    with pytest.raises(SourceError, match="proxy_path is off"):
        upstream_url(address(), sub_path="x")


def test_query_refused_when_not_enabled() -> None:
    with pytest.raises(SourceError, match="proxy_query is off"):
        upstream_url(address(), query="a=1")


def test_method_refused() -> None:
    with pytest.raises(SourceError, match="method POST is not allowed"):
        upstream_url(address(), method="POST")


def test_file_info_and_etag_changes_with_content(tmp_path: Path) -> None:
    f = tmp_path / "data.csv"
    f.write_bytes(b"a,b\n1,2\n")
    first = file_info(FileDataAddress(path=str(f)))
    assert first.size == 8
    f.write_bytes(b"a,b\n1,2\n3,4\n")
    assert file_info(FileDataAddress(path=str(f))).etag != first.etag


def test_missing_file_has_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="missing"):
        file_info(FileDataAddress(path=str(tmp_path / "nope")))
