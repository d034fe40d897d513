"""Schemathesis hooks for tests/e2e_openapi.rs (loaded through SCHEMATHESIS_HOOKS).

tus sends its bytes as `application/offset+octet-stream`, a media type Schemathesis has no
serializer for: its generated bodies (bytes, or anything else as text) are sent as they are.
"""
import schemathesis


@schemathesis.serializer("application/offset+octet-stream")
def offset_octets(ctx, value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return str(value).encode()
