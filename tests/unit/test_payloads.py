"""Large payloads are stored compressed and come back identical; small ones and old histories stay plain."""
from pathlib import Path

from domain.policy import Policy
from domain.rule_file import load_policy_file
from relance.payloads import DATA_CONVERTER, ZLIB

ROOT = Path(__file__).resolve().parents[2]


async def test_a_policy_is_stored_compressed_and_decoded_identical():
    policy = load_policy_file(ROOT / "rules" / "default.yaml")
    plain = DATA_CONVERTER.payload_converter.to_payloads([policy])[0]

    stored = (await DATA_CONVERTER.encode([policy]))[0]

    assert stored.metadata["encoding"] == ZLIB and stored.ByteSize() < plain.ByteSize() / 2
    assert await DATA_CONVERTER.decode([stored], [Policy]) == [policy]


async def test_small_payloads_and_plain_histories_stay_readable():
    stored = (await DATA_CONVERTER.encode(["FA-2026-0101:reminder:j+2"]))[0]
    assert stored.metadata["encoding"] == b"json/plain"

    plain = DATA_CONVERTER.payload_converter.to_payloads([{"written": "before compression"}])[0]
    assert await DATA_CONVERTER.decode([plain]) == [{"written": "before compression"}]
