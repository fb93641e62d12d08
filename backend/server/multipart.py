"""multipart/form-data bodies (file uploads) parsed with the standard library's MIME parser."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

from ..errors import MotionInputError


def parse_form(content_type: str, body: bytes) -> dict[str, tuple[bytes, str | None]]:
    """Field name -> (content, filename or None); a malformed body raises `MotionInputError`."""
    header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", errors="replace")
    message = BytesParser(policy=policy.HTTP).parsebytes(header + body)
    if not message.is_multipart():
        raise MotionInputError("the multipart/form-data body could not be read (boundary missing or wrong)")
    fields: dict[str, tuple[bytes, str | None]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            raise MotionInputError("a form part has no field name")
        payload = part.get_payload(decode=True)
        fields[name] = (payload if isinstance(payload, bytes) else b"", part.get_filename())
    return fields
