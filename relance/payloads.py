"""How relance's values travel through Temporal: pydantic JSON, large payloads compressed.

Every case records the policy version it read (about 3 KB of JSON) and, when it ends, its whole audit
trail: that is most of what a case stores on the server, for every case, for as long as histories are
kept. zlib brings such payloads to a third. Payloads below the threshold (invoices, letters, most
activity results) stay plain JSON, readable as such in the Web UI and `temporal workflow show`.

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
COMPRESS_FROM_BYTES = 2048


class LargePayloadCompression(PayloadCodec):
    def __init__(self, threshold: int = COMPRESS_FROM_BYTES) -> None:
        self.threshold = threshold

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._compressed(p) if p.ByteSize() >= self.threshold else p for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decompressed(p) if p.metadata.get("encoding") == ZLIB else p for p in payloads]

    @staticmethod
    def _compressed(payload: Payload) -> Payload:
        return Payload(metadata={"encoding": ZLIB}, data=zlib.compress(payload.SerializeToString()))

    @staticmethod
    def _decompressed(payload: Payload) -> Payload:
        original = Payload()
        original.ParseFromString(zlib.decompress(payload.data))
        return original


DATA_CONVERTER = dataclasses.replace(pydantic_data_converter, payload_codec=LargePayloadCompression())
