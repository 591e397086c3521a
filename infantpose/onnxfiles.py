"""The files an ONNX model reads besides itself (external-data tensors), read from the model's
protobuf bytes without the ``onnx`` package (the runtime install has only onnxruntime).

A bundle's check must cover every file a model names: onnxruntime opens external-data files
by the name the model stores, so a file the manifest does not hash would be loaded unchecked.
"""

from __future__ import annotations

from collections.abc import Iterator

# Protobuf field numbers (onnx.proto3): only the paths that can hold a tensor are followed.
_MODEL_GRAPH, _MODEL_FUNCTIONS = 7, 25
_FUNCTION_NODES = 7
_GRAPH_NODES, _GRAPH_INITIALIZERS, _GRAPH_SPARSE = 1, 5, 15
_NODE_ATTRIBUTES = 5
_ATTR_TENSOR, _ATTR_GRAPH, _ATTR_TENSORS, _ATTR_GRAPHS, _ATTR_SPARSE, _ATTR_SPARSES = 5, 6, 10, 11, 22, 23
_SPARSE_VALUES, _SPARSE_INDICES = 1, 2
_TENSOR_EXTERNAL = 13  # repeated StringStringEntryProto {1: key, 2: value}
_MAX_DEPTH = 64  # subgraphs nest (If / Loop bodies); a hostile file must not recurse for ever


def _varint(buf: memoryview, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise ValueError("truncated or malformed protobuf varint")
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, i
        shift += 7


def _fields(buf: memoryview) -> Iterator[tuple[int, memoryview | int]]:
    """(field number, value) of one protobuf message: bytes for length-delimited fields, else ints."""
    i = 0
    while i < len(buf):
        tag, i = _varint(buf, i)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            value, i = _varint(buf, i)
            yield field, value
        elif wire == 2:
            n, i = _varint(buf, i)
            if i + n > len(buf):
                raise ValueError("a protobuf field runs past the end of the file")
            yield field, buf[i : i + n]
            i += n
        elif wire in (1, 5):
            i += 8 if wire == 1 else 4
            if i > len(buf):
                raise ValueError("truncated protobuf field")
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")


def _messages(buf: memoryview, number: int) -> Iterator[memoryview]:
    for field, value in _fields(buf):
        if field == number and isinstance(value, memoryview):
            yield value


def _tensor(buf: memoryview, found: set[str]) -> None:
    for entry in _messages(buf, _TENSOR_EXTERNAL):
        kv = {f: bytes(v).decode("utf-8", "replace") for f, v in _fields(entry) if isinstance(v, memoryview)}
        if kv.get(1) == "location":
            found.add(kv.get(2, ""))


def _sparse(buf: memoryview, found: set[str]) -> None:
    for field, value in _fields(buf):
        if field in (_SPARSE_VALUES, _SPARSE_INDICES) and isinstance(value, memoryview):
            _tensor(value, found)


def _nodes(bufs: Iterator[memoryview], found: set[str], depth: int) -> None:
    for node in bufs:
        for attr in _messages(node, _NODE_ATTRIBUTES):
            for field, value in _fields(attr):
                if not isinstance(value, memoryview):
                    continue
                if field in (_ATTR_TENSOR, _ATTR_TENSORS):
                    _tensor(value, found)
                elif field in (_ATTR_SPARSE, _ATTR_SPARSES):
                    _sparse(value, found)
                elif field in (_ATTR_GRAPH, _ATTR_GRAPHS):
                    _graph(value, found, depth + 1)


def _graph(buf: memoryview, found: set[str], depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise ValueError(f"subgraphs nested more than {_MAX_DEPTH} deep")
    for field, value in _fields(buf):
        if not isinstance(value, memoryview):
            continue
        if field == _GRAPH_INITIALIZERS:
            _tensor(value, found)
        elif field == _GRAPH_SPARSE:
            _sparse(value, found)
    _nodes(_messages(buf, _GRAPH_NODES), found, depth)


def onnx_external_files(model: bytes) -> set[str]:
    """The external-data file names (as stored: relative to the model's folder) of an ONNX model's
    bytes, over every graph, subgraph and function; ValueError when the bytes are not protobuf."""
    buf = memoryview(model)
    found: set[str] = set()
    for field, value in _fields(buf):
        if field == _MODEL_GRAPH and isinstance(value, memoryview):
            _graph(value, found, 0)
        elif field == _MODEL_FUNCTIONS and isinstance(value, memoryview):
            _nodes(_messages(value, _FUNCTION_NODES), found, 0)
    return found
