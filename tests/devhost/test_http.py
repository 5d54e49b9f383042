"""HTTP triggers through the local host: routing, request and response fidelity, failures, keep-alive, logging."""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from devhost import LocalHost
from tests.devhost.conftest import SAMPLE_APP, write_project

HTTP_FUNCTIONS = [
    "echo",
    "item_by_id",
    "item_by_name",
    "item_latest",
    "files",
    "optional",
    "default_route",
    "boom",
    "returns_nothing",
    "asynchronous",
    "binary",
    "with_context",
]


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHost]:
    saved = dict(os.environ)
    root = write_project(tmp_path_factory.mktemp("http-project"), functions=HTTP_FUNCTIONS)
    local = LocalHost(SAMPLE_APP, port=0, project_root=root, max_request_body_bytes=64 * 1024)
    local.start()
    try:
        yield local
    finally:
        local.stop(grace_period=5)
        os.environ.clear()
        os.environ.update(saved)


def test_routes_are_served_under_the_prefix(host: LocalHost) -> None:
    assert requests.get(f"{host.url}/api/items/latest", timeout=5).text == "literal:latest"
    assert requests.get(f"{host.url}/items/latest", timeout=5).status_code == 404


def test_route_parameters_and_constraints(host: LocalHost) -> None:
    assert requests.get(f"{host.url}/api/items/42", timeout=5).text == "int:42"
    assert requests.get(f"{host.url}/api/items/abc", timeout=5).text == "alpha:abc"
    assert requests.get(f"{host.url}/api/ITEMS/Latest", timeout=5).text == "literal:latest"
    # Neither an int nor letters only: no route matches.
    assert requests.get(f"{host.url}/api/items/a1", timeout=5).status_code == 404
    assert requests.get(f"{host.url}/api/items/99999999999", timeout=5).status_code == 404


def test_optional_parameter(host: LocalHost) -> None:
    assert requests.get(f"{host.url}/api/optional/x", timeout=5).json() == {"a": "x"}
    assert requests.get(f"{host.url}/api/optional/x/y", timeout=5).json() == {"a": "x", "b": "y"}
    assert requests.get(f"{host.url}/api/optional/x/y/z", timeout=5).status_code == 404


def test_catch_all_takes_slashes_and_encoded_slashes(host: LocalHost) -> None:
    assert requests.get(f"{host.url}/api/files/a/b/c.txt", timeout=5).json() == {"path": "a/b/c.txt"}
    # As in Azure, %2F is decoded before routing: it is a slash in the value.
    assert requests.get(f"{host.url}/api/files/org%2Frepo/x%20y", timeout=5).json() == {"path": "org/repo/x y"}
    assert requests.get(f"{host.url}/api/files", timeout=5).json() == {}


def test_encoded_slash_does_not_match_a_single_segment_parameter(host: LocalHost) -> None:
    assert requests.get(f"{host.url}/api/echo/a%2Fb", timeout=5).status_code == 404
    assert requests.get(f"{host.url}/api/echo/a%20b", timeout=5).json()["route_params"] == {"name": "a b"}


def test_default_route_is_the_function_name(host: LocalHost) -> None:
    assert requests.get(f"{host.url}/api/default_route", timeout=5).text == "default route"


def test_undeclared_method_and_unknown_path_answer_404_like_the_host(host: LocalHost) -> None:
    for response in (
        requests.delete(f"{host.url}/api/echo/x", timeout=5),
        requests.post(f"{host.url}/api/items/1", timeout=5),
        requests.get(f"{host.url}/api/nowhere", timeout=5),
    ):
        assert response.status_code == 404
        assert response.content == b""


def test_function_without_methods_accepts_every_method(host: LocalHost) -> None:
    for method in ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        assert requests.request(method, f"{host.url}/api/files/x", timeout=5).status_code == 200


def test_request_reaches_the_function_intact(host: LocalHost) -> None:
    response = requests.post(
        f"{host.url}/api/echo/world?a=1&b=two%20words&a=3&empty=",
        data=b'{"hello": "there"}',
        headers={"X-Custom": "value", "Content-Type": "application/json"},
        timeout=5,
    )
    assert response.status_code == 200
    seen = response.json()
    assert seen["method"] == "POST"
    assert seen["url"] == f"{host.url}/api/echo/world?a=1&b=two%20words&a=3&empty="
    assert seen["headers"]["x-custom"] == "value"
    assert seen["headers"]["content-type"] == "application/json"
    assert seen["params"] == {"a": "1,3", "b": "two words", "empty": ""}
    assert seen["route_params"] == {"name": "world"}
    assert json.loads(seen["body"]) == {"hello": "there"}


def test_response_status_headers_and_cookies(host: LocalHost) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", host.port, timeout=5)
    connection.request("GET", "/api/echo/x?status=202")
    response = connection.getresponse()
    body = response.read()
    assert response.status == 202
    assert response.getheader("Content-Type") == "application/json"
    assert response.getheader("X-Echo") == "yes"
    assert response.headers.get_all("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert int(response.getheader("Content-Length") or -1) == len(body)
    connection.close()


def test_binary_body_and_mimetype(host: LocalHost) -> None:
    payload = bytes(range(256))
    response = requests.post(f"{host.url}/api/binary", data=payload, timeout=5)
    assert response.status_code == 200
    assert response.content == payload[::-1]
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["X-Length"] == "1"


def test_string_return_is_plain_text(host: LocalHost) -> None:
    response = requests.get(f"{host.url}/api/items/7", timeout=5)
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_async_function(host: LocalHost) -> None:
    response = requests.get(f"{host.url}/api/async/21", timeout=5)
    assert response.status_code == 201
    assert response.text == "async 42"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_context_parameter(host: LocalHost) -> None:
    seen = requests.get(f"{host.url}/api/context", timeout=5).json()
    assert seen["function_name"] == "with_context"
    assert len(seen["invocation_id"]) == 36
    assert seen["is_context"] is True
    trace_parent, trace_state, attributes = seen["trace"]
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-00", trace_parent)
    assert (trace_state, attributes) == ("", {})
    assert seen["retry"] == [0, 0, None]


def test_exception_is_a_500_and_is_logged(host: LocalHost, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="devhost"):
        response = requests.get(f"{host.url}/api/boom", timeout=5)
    assert response.status_code == 500
    assert response.content == b""
    failures = [r for r in caplog.records if "Executed 'Functions.boom' (Failed" in r.getMessage()]
    assert failures and failures[0].exc_info is not None
    assert "this function always fails" in str(failures[0].exc_info[1])


def test_non_response_return_is_a_500(host: LocalHost) -> None:
    assert requests.get(f"{host.url}/api/nothing", timeout=5).status_code == 500


def test_oversized_body_is_rejected_with_413(host: LocalHost) -> None:
    response = requests.post(f"{host.url}/api/binary", data=b"x" * (64 * 1024 + 1), timeout=5)
    assert response.status_code == 413
    chunked = requests.post(f"{host.url}/api/binary", data=iter([b"x" * 40_000, b"y" * 40_000]), timeout=5)
    assert chunked.status_code == 413


@pytest.mark.parametrize(("size", "interim"), [(100, b"HTTP/1.1 100 Continue"), (70_000, b"HTTP/1.1 413 ")])
def test_expect_100_continue(host: LocalHost, size: int, interim: bytes) -> None:
    with socket.create_connection(("127.0.0.1", host.port), timeout=5) as sock:
        head = f"POST /api/binary HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\nExpect: 100-continue\r\n\r\n"
        sock.sendall(head.encode())
        assert sock.recv(4096).startswith(interim)
        if size < 64 * 1024:
            sock.sendall(b"z" * size)
            assert sock.recv(4096).startswith(b"HTTP/1.1 200 OK")


def test_chunked_request_body(host: LocalHost) -> None:
    response = requests.post(f"{host.url}/api/binary", data=iter([b"abc", b"def"]), timeout=5)
    assert response.status_code == 200
    assert response.content == b"fedcba"


def test_head_request_has_no_body(host: LocalHost) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", host.port, timeout=5)
    connection.request("HEAD", "/api/files/x")
    response = connection.getresponse()
    assert response.status == 200
    assert response.read() == b""
    assert int(response.getheader("Content-Length") or 0) > 0
    connection.close()


def test_connections_are_kept_alive(host: LocalHost) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", host.port, timeout=5)
    connection.request("GET", "/api/items/1")
    first = connection.getresponse()
    assert first.read() == b"int:1"
    sock = connection.sock
    for number in range(2, 6):
        connection.request("POST", "/api/binary", body=b"ab")
        response = connection.getresponse()
        assert response.read() == b"ba"
        connection.request("GET", f"/api/items/{number}")
        assert connection.getresponse().read() == f"int:{number}".encode()
    assert connection.sock is sock
    connection.close()


def test_homepage_at_the_root(host: LocalHost) -> None:
    response = requests.get(f"{host.url}/", timeout=5)
    assert response.status_code == 200
    assert "up and running" in response.text


def test_one_log_line_per_request_without_query_string(host: LocalHost, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="devhost"):
        requests.get(f"{host.url}/api/items/5?code=supersecret&sig=alsosecret", timeout=5)
        requests.get(f"{host.url}/api/items/x1?code=supersecret", timeout=5)
    lines = [r.getMessage() for r in caplog.records if r.name == "devhost.http"]
    assert any(line.startswith("GET /api/items/5 200 ") and line.endswith("ms") for line in lines)
    assert any(line.startswith("GET /api/items/x1 404 ") for line in lines)
    executions = [r.getMessage() for r in caplog.records if r.name == "devhost.invocation"]
    assert any("Executed 'Functions.item_by_id' (Succeeded, Id=" in line for line in executions)
    assert not any("secret" in r.getMessage() for r in caplog.records)


def test_empty_route_prefix(start_host: Callable[..., LocalHost]) -> None:
    local = start_host(["item_latest", "files"], route_prefix="")
    assert requests.get(f"{local.url}/items/latest", timeout=5).text == "literal:latest"
    assert requests.get(f"{local.url}/files/a/b", timeout=5).json() == {"path": "a/b"}
    assert requests.get(f"{local.url}/api/items/latest", timeout=5).status_code == 404


def test_a_burst_of_new_connections_is_queued_not_reset(host: LocalHost) -> None:
    """200 clients connecting at once, each with a fresh connection: all are answered, none reset."""

    def one_request(index: int) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", host.port, timeout=30)
        try:
            connection.request("GET", f"/api/echo/burst{index}")
            return connection.getresponse().status
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=200) as pool:
        statuses = list(pool.map(one_request, range(200)))
    assert statuses == [200] * 200
