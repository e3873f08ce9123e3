"""SMTP's DATA in two halves: the message, then its final dot, with the ledger's fence in between.

A server keeps a message only once the line holding a lone dot has arrived; a connection closed before it leaves
nothing behind (RFC 5321, 4.1.1.4 and 3.8). Writing the body first and the dot only once the ledger has marked the
key `handing` makes `handing` mean "the dot may have reached the server": a key whose body went out but not its
dot is given back and resent, and only a message the server may really hold is ever resent blind or held for ops.

aiosmtplib's `data()` writes the body and the dot in one go, so this uses its command and protocol methods.
"""
from __future__ import annotations

import re
import time

import aiosmtplib

_LINE_END = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"(?m)^\.")


class DotNotWritten(Exception):
    """The connection was gone before the final dot could be written: the server cannot hold the message."""


def framed(message: bytes) -> bytes:
    """The message as DATA carries it, without the final dot: CRLF line ends, a line's leading dot doubled."""
    text = _LEADING_DOT.sub(b"..", _LINE_END.sub(b"\r\n", message))
    return text if text.endswith(b"\r\n") else text + b"\r\n"


async def send_body(smtp: aiosmtplib.SMTP, message: bytes, timeout: float) -> None:
    """DATA, the server's 354, then the message without its final dot."""
    response = await smtp.execute_command(b"DATA", timeout=timeout)
    if response.code != 354:
        raise aiosmtplib.SMTPDataError(response.code, response.message)
    smtp.protocol.write(framed(message))


async def end_data(smtp: aiosmtplib.SMTP, not_after: float) -> aiosmtplib.SMTPResponse:
    """The final dot, unless the monotonic clock is past `not_after` (this process was stopped after the fence: its
    lease may have passed to another attempt), then the server's answer (awaited without a timeout: the caller
    times it). Nothing is awaited between the write and the read, so the answer cannot arrive before it is expected."""
    if time.monotonic() > not_after:
        raise DotNotWritten("too late after the fence: the lease may have passed on; the message is dropped")
    try:
        smtp.protocol.write(b".\r\n")
    except (aiosmtplib.SMTPServerDisconnected, AttributeError) as gone:  # no protocol: the session was closed
        raise DotNotWritten(str(gone)) from gone
    response = await smtp.protocol.read_response(timeout=None)
    if response.code != 250:
        raise aiosmtplib.SMTPDataError(response.code, response.message)
    return response
