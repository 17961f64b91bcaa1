"""Reading what an agent sends: one text frame into a JSON object, within bounds, or a reason to refuse it.

Every frame gets an answer (DESIGN §4): a frame refused here gets an ``error`` frame and the socket keeps
working. Bounds, and why:

* :data:`MAX_FRAME_CHARS` - a frame is a few fields and a reply of at most 4,096 characters (up to six
  characters each once escaped in JSON); anything much larger is not a frame of ours. (``dispatcher serve``
  also caps the WebSocket message size at the server.)
* :data:`MAX_FRAME_DEPTH` - our frames are flat objects. JSON nested thousands deep makes the decoder raise
  ``RecursionError`` (it used to kill the session); it is caught, and any nesting past the limit is refused.
* strings that are not valid Unicode (a lone surrogate such as ``"\\ud800"``, which JSON allows) or hold a NUL
  character, anywhere in the frame: they cannot be stored or even sent back in an ``error`` frame (a socket
  used to fall silent after echoing one).
"""

from __future__ import annotations

import json

from dispatcher_core.entities.limits import storable_problem

__all__ = ["MAX_FRAME_CHARS", "MAX_FRAME_DEPTH", "FrameError", "parse_frame"]

MAX_FRAME_CHARS = 64 * 1024
MAX_FRAME_DEPTH = 8


class FrameError(Exception):
    """A frame refused; ``code`` is what the ``error`` frame carries (``bad_frame`` or ``invalid``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _check(value: object) -> None:
    """Walk ``value`` without recursion: depth within bounds, every string (keys included) storable."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if storable_problem(item, MAX_FRAME_CHARS) is not None:
                raise FrameError("invalid", "frame strings must be valid Unicode without NUL characters")
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > MAX_FRAME_DEPTH:
            raise FrameError("bad_frame", f"frames may nest at most {MAX_FRAME_DEPTH} levels")
        children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children)


def parse_frame(raw: str) -> dict[str, object]:
    """The frame as a JSON object, or :class:`FrameError`."""
    if len(raw) > MAX_FRAME_CHARS:
        raise FrameError("bad_frame", f"frames must be at most {MAX_FRAME_CHARS} characters")
    try:
        frame = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the decoder goes
        raise FrameError("bad_frame", "frames must be JSON objects") from None
    if not isinstance(frame, dict):
        raise FrameError("bad_frame", "frames must be JSON objects")
    _check(frame)
    return frame
