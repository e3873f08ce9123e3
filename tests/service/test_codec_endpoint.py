"""`temporal workflow show --codec-endpoint` against the codec server: a case's compressed payloads read as JSON."""
from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import uuid

from domain.invoice import case_workflow_id
from relance.codec_server import CodecServer
from relance.payloads import ZLIB
from relance.temporal import binary
from tests import clock
from tests.service.conftest import eventually, relance
from tests.service.test_cli import ledger


def payloads(node):
    """Every payload (a dict with metadata and data) anywhere in a history's JSON."""
    if isinstance(node, dict):
        if "metadata" in node and "encoding" in node["metadata"]:
            yield node
        for value in node.values():
            yield from payloads(value)
    elif isinstance(node, list):
        for value in node:
            yield from payloads(value)


async def show(service, workflow_id: str, *extra: str) -> dict:
    process = await asyncio.create_subprocess_exec(
        binary("temporal"), "workflow", "show", "--workflow-id", workflow_id, "--output", "json",
        "--address", service["TEMPORAL_ADDRESS"], *extra, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    return json.loads(out)


async def test_the_temporal_cli_shows_a_case_s_compressed_payloads_as_json(service, tmp_path):
    number = f"CODEC-{uuid.uuid4().hex[:6]}"
    due, issued = (clock.dev_server_today() + dt.timedelta(days=30)).strftime("%d/%m/%Y"), clock.dev_server_today().strftime("%d/%m/%Y")
    imported = await relance(service, "import", str(ledger(tmp_path, [
        f"{number};{issued};{due};DEB-C;Client SAS;ap@client.example;1 234,56;non"])))
    assert imported.returncode == 0, imported.stderr

    def encodings(history) -> list[str]:
        return [base64.b64decode(p["metadata"]["encoding"]).decode() for p in payloads(history)]

    raw = await eventually(lambda: _with_policy_read(show(service, case_workflow_id(number))))
    assert ZLIB.decode() in encodings(raw), "the policy the case read is stored compressed"

    codec = CodecServer().start()
    try:
        decoded = await show(service, case_workflow_id(number), "--codec-endpoint", codec.url)
    finally:
        codec.stop()
    assert ZLIB.decode() not in encodings(decoded) and set(encodings(decoded)) == {"json/plain"}
    texts = [base64.b64decode(p["data"]).decode() for p in payloads(decoded)]
    assert any('"creditor"' in text and '"reminders"' in text for text in texts), "the policy reads as JSON"


async def _with_policy_read(pending):
    history = await pending
    return history if any(base64.b64decode(p["metadata"]["encoding"]) == ZLIB for p in payloads(history)) else None
