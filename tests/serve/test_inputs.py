"""The decoding of request fields: base64 poses (fast path and whitespace path) and JSON bodies."""

import base64
import os

import pytest

from signclip.serve.inputs import LimitExceededError, RequestFormatError, decode_base64, parse_json_body

DATA = os.urandom(3000)


@pytest.mark.parametrize(
    "text",
    [
        base64.b64encode(DATA).decode(),
        base64.encodebytes(DATA).decode(),  # MIME lines of 76 characters
        "  " + base64.b64encode(DATA).decode().replace("A", "A\r\n\t") + "\n",
    ],
    ids=["compact", "mime-lines", "scattered-whitespace"],
)
def test_base64_decodes_to_the_bytes_with_or_without_whitespace(text):
    assert decode_base64(text, "pose", max_bytes=len(DATA)) == DATA


def test_whitespace_does_not_count_against_the_size_limit_but_the_data_does():
    wrapped = base64.b64encode(DATA).decode().replace("A", "A" + " " * 40)
    assert decode_base64(wrapped, "pose", max_bytes=len(DATA)) == DATA
    with pytest.raises(LimitExceededError, match=r"pose: .*over the 2999-byte limit"):
        decode_base64(wrapped, "pose", max_bytes=len(DATA) - 1)


@pytest.mark.parametrize("text", ["abc", "ab=c", "abc?", "ab==cd", "ééé=", "AAAA%%%%"])
def test_malformed_base64_names_the_field_and_the_fault(text):
    with pytest.raises(RequestFormatError, match=r"^pose\[2\]: not valid base64 \(.+\)"):
        decode_base64(text, "pose[2]", max_bytes=100)


@pytest.mark.parametrize("body", [b"", b"  \n", b'{"pose": ', b"\xff\xfe{}", b'{"a": NaN}'])
def test_an_empty_or_malformed_json_body_is_a_format_error(body):
    with pytest.raises(RequestFormatError, match=r"request body is (empty|not valid JSON)"):
        parse_json_body(body)


def test_a_json_body_parses_to_its_value():
    assert parse_json_body(b' {"pose": ["AAAA"], "k": 3} ') == {"pose": ["AAAA"], "k": 3}
