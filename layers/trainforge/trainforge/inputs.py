"""Rules for text and JSON that come from outside, the same for every door: the API, S3 drops, job specs and the
contract's own arguments.

PostgreSQL stores neither NUL characters nor unpaired UTF-16 surrogates (the driver cannot even encode the
latter), so such text is refused where it arrives, naming the field, instead of failing deep in a statement.
"""

from __future__ import annotations

import json
import math
import posixpath
import re
import unicodedata
from collections.abc import Iterator
from typing import Any

MAX_JSON_DEPTH = 32
MAX_NUMBER_CHARS = 40  # longer than any count, size or hyperparameter a training job can use

# NUL and the surrogate range: neither survives the trip into PostgreSQL's text.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
INVALID_TEXT_MESSAGE = "must not contain NUL characters or unpaired UTF-16 surrogates"

# An Idempotency-Key header or a contract idempotency_key: 1-255 visible ASCII characters.
IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")


class MalformedJsonError(ValueError):
    """A body that is not JSON Trainforge accepts; ``code`` says which rule it broke."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def is_storable_text(value: str) -> bool:
    return _UNSTORABLE.search(value) is None


def printable(value: str, limit: int = 80) -> str:
    """A name or value safe to put in a message that is logged and stored: unstorable characters escaped."""
    shown = _UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def storable(value: str) -> str:
    """Text reported by AWS (a failure reason, a build log line) made storable: it is a fact to keep, not an
    input to refuse."""
    return _UNSTORABLE.sub("\ufffd", value)


def unstorable_text_paths(value: Any, path: str = "") -> Iterator[str]:
    """The dotted paths (``hyperparameters.lr``, ``files.0.path``) of every key or string that cannot be stored."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            if not is_storable_text(item):
                yield where or "body"
        elif isinstance(item, dict):
            for key, child in item.items():
                name = printable(str(key), 200)
                child_path = f"{where}.{name}" if where else name
                if isinstance(key, str) and not is_storable_text(key):
                    yield child_path
                stack.append((child_path, child))
        elif isinstance(item, list):
            stack.extend(
                (f"{where}.{index}" if where else str(index), child) for index, child in enumerate(item)
            )


def _refuse_constant(name: str) -> Any:
    raise MalformedJsonError(
        "malformed_json", f"{name} is not a JSON number; send a finite number or a string"
    )


def _number(text: str) -> Any:
    if len(text) > MAX_NUMBER_CHARS:
        raise MalformedJsonError(
            "json_number_too_long", f"numbers are limited to {MAX_NUMBER_CHARS} characters, got {len(text)}"
        )
    if any(c in text for c in ".eE"):
        number = float(text)
        if not math.isfinite(number):
            raise MalformedJsonError("malformed_json", f"{text} is out of range for a number")
        return number
    return int(text)


def _depth_within(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return True


def parse_json(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON strictly: UTF-8 only, no NaN or Infinity, numbers of sane length, nesting at most
    ``max_depth`` deep. Raises :class:`MalformedJsonError` saying which rule was broken."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedJsonError(
                "malformed_json", f"the body is not UTF-8 (invalid byte at position {exc.start})"
            ) from None
    try:
        value = json.loads(text, parse_int=_number, parse_float=_number, parse_constant=_refuse_constant)
    except MalformedJsonError:
        raise
    except RecursionError:
        raise MalformedJsonError(
            "json_too_deep", f"JSON may be nested at most {max_depth} levels deep"
        ) from None
    except json.JSONDecodeError as exc:
        raise MalformedJsonError(
            "malformed_json", f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except ValueError as exc:  # Python's own limit on integer digits, behind MAX_NUMBER_CHARS
        raise MalformedJsonError("json_number_too_long", str(exc)) from None
    if not _depth_within(value, max_depth):
        raise MalformedJsonError("json_too_deep", f"JSON may be nested at most {max_depth} levels deep")
    return value


def check_relative_path(raw: Any) -> str | None:
    """The rule for every path inside a dataset; returns why ``raw`` is refused, or None."""
    if not isinstance(raw, str) or not raw.strip():
        return "is empty"
    if any(unicodedata.category(ch) == "Cc" for ch in raw):
        return "contains a control character"
    if raw.startswith(("/", "\\")) or (len(raw) > 1 and raw[1] == ":"):
        return "is absolute; paths must be relative to the dataset folder"
    parts = raw.replace("\\", "/").split("/")
    if ".." in parts:
        return "contains '..'; paths must stay inside the dataset folder"
    if len(raw.encode()) > 900:
        return "is longer than 900 bytes"
    return None


def normalise_path(raw: str) -> str:
    return posixpath.normpath(raw.replace("\\", "/"))
