"""How relance's values travel through Temporal: pydantic JSON, large payloads compressed.

Every case records the policy version it read (about 3 KB of JSON), hands every letter to an activity
(1.5 to 2 KB: invoice, creditor, amounts, penalty lines) and, when it ends, returns its whole audit trail:
that is most of what a case stores on the server, for every case, for as long as histories are kept, and
every byte is carried by the worker, the server and the client too (`make bench`: 1.8 KB more per activity
costs about 6 % of lifecycle throughput). zlib brings such payloads to a half or a third. Payloads below the
threshold (invoices, ops messages, activity results) stay plain JSON; the codec server
(`relance.codec_server`, started by `relance up`) shows the others as JSON in the Web UI and
`temporal --codec-endpoint`.

Every client and worker must use `DATA_CONVERTER`. Decoding accepts plain payloads, so histories written
before compression replay unchanged.
"""
from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Sequence

from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import PayloadCodec

ZLIB = b"binary/zlib"
COMPRESS_FROM_BYTES = 1024  # letters compress to about half; an invoice (600 B) stays plain


class LargePayloadCompression(PayloadCodec):
    def __init__(self, threshold: int = COMPRESS_FROM_BYTES) -> None:
        self.threshold = threshold

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [stored(p, self.threshold) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [decompressed(p) for p in payloads]


def stored(payload: Payload, threshold: int = COMPRESS_FROM_BYTES) -> Payload:
    """The payload as relance stores it: compressed from `threshold` bytes on."""
    if payload.ByteSize() < threshold:
        return payload
    return Payload(metadata={"encoding": ZLIB}, data=zlib.compress(payload.SerializeToString()))


def decompressed(payload: Payload) -> Payload:
    """The payload as the converter wrote it; a payload that was never compressed comes back as it is."""
    if payload.metadata.get("encoding") != ZLIB:
        return payload
    original = Payload()
    original.ParseFromString(zlib.decompress(payload.data))
    return original


DATA_CONVERTER = dataclasses.replace(pydantic_data_converter, payload_codec=LargePayloadCompression())
