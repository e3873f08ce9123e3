"""The codec server undoes relance's compression for Temporal's Web UI and CLI, and only for the UI's origin."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from domain.policy import Policy
from domain.rule_file import load_policy_file
from relance.codec_server import CodecServer
from relance.payloads import DATA_CONVERTER, ZLIB

ROOT = Path(__file__).resolve().parents[2]
UI = "http://127.0.0.1:8233"


@pytest.fixture
def codec():
    server = CodecServer(allow_origins=[UI]).start()
    yield server
    server.stop()


def post(url: str, body: bytes, origin: str | None = None, method: str = "POST"):
    headers = {"Content-Type": "application/json", "X-Namespace": "default", **({"Origin": origin} if origin else {})}
    request = urllib.request.Request(url, data=body if method == "POST" else None, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def as_json(*payloads) -> bytes:
    return json.dumps(json_format.MessageToDict(Payloads(payloads=list(payloads)))).encode()


async def test_a_compressed_payload_comes_back_as_the_json_the_converter_wrote(codec):
    policy = load_policy_file(ROOT / "rules" / "default.yaml")
    stored, small = await DATA_CONVERTER.encode([policy, "FA-1:reminder:j+2"])
    assert stored.metadata["encoding"] == ZLIB and small.metadata["encoding"] == b"json/plain"

    status, _, body = post(f"{codec.url}/decode", as_json(stored, small))

    assert status == 200
    decoded = json_format.Parse(body, Payloads()).payloads
    assert [p.metadata["encoding"] for p in decoded] == [b"json/plain", b"json/plain"]
    assert Policy.model_validate_json(decoded[0].data) == policy
    assert decoded[1] == small, "a payload that was never compressed comes back untouched"

    status, _, body = post(f"{codec.url}/encode", body)
    assert status == 200 and json_format.Parse(body, Payloads()).payloads == [stored, small]


def test_only_the_web_ui_origin_may_call_it_from_a_browser(codec):
    status, headers, _ = post(f"{codec.url}/decode", b"", origin=UI, method="OPTIONS")
    assert status == 204 and headers["Access-Control-Allow-Origin"] == UI
    assert "X-Namespace" in headers["Access-Control-Allow-Headers"]

    status, headers, _ = post(f"{codec.url}/decode", as_json(), origin="http://evil.example")
    assert status == 200 and "Access-Control-Allow-Origin" not in headers


def test_bad_requests_get_a_clear_error_and_the_server_keeps_serving(codec):
    status, _, body = post(f"{codec.url}/decode", b"{not json")
    assert status == 400 and "not a payloads document" in json.loads(body)["error"]
    status, _, body = post(f"{codec.url}/compress", as_json())
    assert status == 404 and "/decode" in json.loads(body)["error"]

    status, _, body = post(f"{codec.url}/decode", as_json())
    assert status == 200 and json.loads(body) == {}
