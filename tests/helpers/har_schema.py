"""HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/) as a JSON Schema: the required fields and their
types for log, creator, pages, entries, request, response, content, cache and timings, as the spec lists
them. Custom fields start with an underscore (allowed by the spec); nothing else may be added."""

_NAME_VALUE = {
    "type": "object",
    "required": ["name", "value"],
    "properties": {"name": {"type": "string"}, "value": {"type": "string"}, "comment": {"type": "string"}},
}
_CUSTOM = {"^_": {}}
_DATE = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"}


def _obj(required, properties, extra=False):
    return {
        "type": "object",
        "required": list(required),
        "properties": properties,
        "patternProperties": _CUSTOM,
        "additionalProperties": extra,
    }


CONTENT = _obj(
    ["size", "mimeType"],
    {
        "size": {"type": "integer"},
        "compression": {"type": "integer"},
        "mimeType": {"type": "string"},
        "text": {"type": "string"},
        "encoding": {"type": "string"},
        "comment": {"type": "string"},
    },
)
REQUEST = _obj(
    ["method", "url", "httpVersion", "cookies", "headers", "queryString", "headersSize", "bodySize"],
    {
        "method": {"type": "string"},
        "url": {"type": "string", "format": "uri"},
        "httpVersion": {"type": "string"},
        "cookies": {"type": "array"},
        "headers": {"type": "array", "items": _NAME_VALUE},
        "queryString": {"type": "array", "items": _NAME_VALUE},
        "postData": _obj(
            ["mimeType"],
            {
                "mimeType": {"type": "string"},
                "text": {"type": "string"},
                "params": {"type": "array"},
                "comment": {"type": "string"},
            },
        ),
        "headersSize": {"type": "integer"},
        "bodySize": {"type": "integer"},
        "comment": {"type": "string"},
    },
)
RESPONSE = _obj(
    ["status", "statusText", "httpVersion", "cookies", "headers", "content", "redirectURL", "headersSize", "bodySize"],
    {
        "status": {"type": "integer"},
        "statusText": {"type": "string"},
        "httpVersion": {"type": "string"},
        "cookies": {"type": "array"},
        "headers": {"type": "array", "items": _NAME_VALUE},
        "content": CONTENT,
        "redirectURL": {"type": "string"},
        "headersSize": {"type": "integer"},
        "bodySize": {"type": "integer"},
        "comment": {"type": "string"},
    },
)
_TIME = {"type": "number", "minimum": -1}
TIMINGS = _obj(
    ["send", "wait", "receive"],
    {k: _TIME for k in ("blocked", "dns", "connect", "send", "wait", "receive", "ssl")}
    | {"comment": {"type": "string"}},
)
ENTRY = _obj(
    ["startedDateTime", "time", "request", "response", "cache", "timings"],
    {
        "pageref": {"type": "string"},
        "startedDateTime": _DATE,
        "time": {"type": "number", "minimum": 0},
        "request": REQUEST,
        "response": RESPONSE,
        "cache": {"type": "object"},
        "timings": TIMINGS,
        "serverIPAddress": {"type": "string"},
        "connection": {"type": "string"},
        "comment": {"type": "string"},
    },
)
PAGE = _obj(
    ["startedDateTime", "id", "title", "pageTimings"],
    {
        "startedDateTime": _DATE,
        "id": {"type": "string"},
        "title": {"type": "string"},
        "pageTimings": {"type": "object"},
        "comment": {"type": "string"},
    },
)
HAR = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["log"],
    "additionalProperties": False,
    "properties": {
        "log": _obj(
            ["version", "creator", "entries"],
            {
                "version": {"type": "string", "enum": ["1.2"]},
                "creator": _obj(
                    ["name", "version"],
                    {"name": {"type": "string"}, "version": {"type": "string"}, "comment": {"type": "string"}},
                ),
                "browser": {"type": "object"},
                "pages": {"type": "array", "items": PAGE},
                "entries": {"type": "array", "items": ENTRY},
                "comment": {"type": "string"},
            },
        )
    },
}
