"""An email as the bytes SMTP carries: plain text with an HTML alternative, UTF-8, base64-encoded bodies, and the
printed letter as a PDF attachment when the policy asks for it (multipart/mixed around the alternative).

Written out directly rather than built as an `email` package message and flattened: that costs about 1 ms of
CPU per message, more than rendering it and the SMTP conversation together (`make bench`). The format is the
one the `email` package produced for us (multipart/alternative, base64 parts, RFC 2047 headers), and the
tests parse every message back with that package.
"""
from __future__ import annotations

import base64
import re
import uuid
from email.utils import formataddr, formatdate

CRLF = "\r\n"
_PLAIN_HEADER = re.compile(r"[\x20-\x7e]*")  # printable ASCII: written as is
_WORD_BYTES = 45  # UTF-8 bytes per encoded word: "=?utf-8?b?" + 60 base64 chars + "?=" stays within 75


def header_value(value: str) -> str:
    """A header value as it may be written: as is when printable ASCII, else RFC 2047 encoded words
    (base64, whole characters per word) folded one per line. A line break can never get through."""
    if _PLAIN_HEADER.fullmatch(value) and len(value) <= 900 and value == value.strip() and "=?" not in value:
        return value
    words, chunk, size = [], [], 0
    for char in value:
        width = len(char.encode("utf-8"))
        if size + width > _WORD_BYTES:
            words.append("".join(chunk))
            chunk, size = [], 0
        chunk.append(char)
        size += width
    words.append("".join(chunk))
    return (CRLF + " ").join(f"=?utf-8?b?{base64.b64encode(w.encode('utf-8')).decode('ascii')}?=" for w in words)


def address(name: str, email: str) -> str:
    """`Name <email>`, the name encoded when it is not plain ASCII."""
    return formataddr((name, email), charset="utf-8")


def _address_header(value: str) -> str:
    # Addresses are written as given (an internationalised one travels with SMTPUTF8), never with a line break.
    if "\r" in value or "\n" in value:
        raise ValueError(f"line break in an address: {value!r}")
    return value


def _part(content_type: str, body: str) -> str:
    encoded = base64.encodebytes(body.encode("utf-8")).decode("ascii").replace("\n", CRLF)
    return (f'Content-Type: {content_type}; charset="utf-8"{CRLF}MIME-Version: 1.0{CRLF}'
            f"Content-Transfer-Encoding: base64{CRLF}{CRLF}{encoded}")


def _attachment(filename: str, content_type: str, data: bytes) -> str:
    encoded = base64.encodebytes(data).decode("ascii").replace("\n", CRLF)
    name = header_value(filename)  # RFC 2047 words in a quoted filename: what mail clients read
    return (f'Content-Type: {content_type}; name="{name}"{CRLF}MIME-Version: 1.0{CRLF}'
            f"Content-Transfer-Encoding: base64{CRLF}"
            f'Content-Disposition: attachment; filename="{name}"{CRLF}{CRLF}{encoded}')


def email_bytes(*, sender: str, to: str, subject: str, message_id: str, key: str, text: str, html: str,
                date: str | None = None, attachments: tuple[tuple[str, str, bytes], ...] = ()) -> bytes:
    """`attachments`: (filename, content type, bytes) each."""
    # Base64 lines hold no "_", so this boundary cannot occur inside a part.
    boundary = f"=_relance_{uuid.uuid4().hex}"
    alternative = (f"--{boundary}{CRLF}{_part('text/plain', text)}{CRLF}"
                   + f"--{boundary}{CRLF}{_part('text/html', html)}{CRLF}"
                   + f"--{boundary}--{CRLF}")
    content_type = f'multipart/alternative; boundary="{boundary}"'
    if attachments:
        mixed = f"=_relance_{uuid.uuid4().hex}"
        body = (f'--{mixed}{CRLF}Content-Type: {content_type}{CRLF}MIME-Version: 1.0{CRLF}{CRLF}{alternative}'
                + "".join(f"--{mixed}{CRLF}{_attachment(*a)}{CRLF}" for a in attachments) + f"--{mixed}--{CRLF}")
        content_type = f'multipart/mixed; boundary="{mixed}"'
    else:
        body = alternative
    headers = [
        f"Content-Type: {content_type}",
        "MIME-Version: 1.0",
        f"From: {_address_header(sender)}",
        f"To: {_address_header(to)}",
        f"Subject: {header_value(subject)}",
        f"Date: {date or formatdate(localtime=True)}",
        f"Message-ID: {header_value(message_id)}",
        f"X-Relance-Key: {header_value(key)}",
    ]
    return (CRLF.join(headers) + CRLF + CRLF + body).encode("utf-8")
