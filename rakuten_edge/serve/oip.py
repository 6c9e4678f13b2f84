"""The Open Inference Protocol (KServe "v2", as Triton, KServe and Seldon MLServer speak it) beside /v1, on the
runtime's one path, with the binary tensor data extension (tritonclient sends and asks for binary by default).

The schema is pinned and written in the model metadata:
inputs  `image` BYTES [N] (the encoded file), `designation` BYTES [N], optional `description` BYTES [N];
outputs `probs` FP32 [N, classes], `top_k_codes` INT32 [N, k], `top_k_probs` FP32 [N, k]; `top_k` a request
parameter (default 3). The model name is the bundle's folder name, the version its export stamp. Errors are OIP's
error object, {"error": "one line"}, with a 400 (or 404 for an unknown model or version).
"""

from __future__ import annotations

import base64
import binascii
import json
import struct

import numpy as np

from .. import __version__
from ..tables.text_kinds import PROBS

HEADER = "inference-header-content-length"
INPUTS = {"image": True, "designation": True, "description": False}  # name -> required
OUTPUTS = {PROBS: "FP32", "top_k_codes": "INT32", "top_k_probs": "FP32"}
DTYPES = {"FP32": np.float32, "INT32": np.int32}
MAX_ITEMS = 64


class OipError(ValueError):
    """A request the protocol refuses: `status` (400, 404) and one line."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def version_of(manifest: dict) -> str:
    """The export stamp as a URL-safe version: 2026-11-30T03:47:09 -> 20261130T034709."""
    return "".join(c for c in str(manifest.get("created", "1")) if c.isalnum()) or "1"


def server_metadata() -> dict:
    return {"name": "rakuten-edge", "version": __version__, "extensions": ["binary_tensor_data"]}


def model_metadata(name: str, version: str, classes: int, platform: str) -> dict:
    inputs = [{"name": n, "datatype": "BYTES", "shape": [-1]} for n in INPUTS]
    outputs = [
        {"name": PROBS, "datatype": "FP32", "shape": [-1, classes]},
        {"name": "top_k_codes", "datatype": "INT32", "shape": [-1, -1]},
        {"name": "top_k_probs", "datatype": "FP32", "shape": [-1, -1]},
    ]
    return {"name": name, "versions": [version], "platform": platform, "inputs": inputs, "outputs": outputs}


def _bytes_elements(raw: bytes, where: str) -> list[bytes]:
    """BYTES binary data: each element a 4-byte little-endian length, then its bytes."""
    out, at = [], 0
    while at < len(raw):
        if at + 4 > len(raw):
            raise OipError(f"{where}: binary BYTES data ends inside an element's length")
        (size,) = struct.unpack_from("<I", raw, at)
        at += 4
        if at + size > len(raw):
            raise OipError(f"{where}: binary BYTES element of {size} bytes runs past the data")
        out.append(raw[at : at + size])
        at += size
    return out


def _json_elements(data, name: str) -> list[bytes]:
    """BYTES as JSON: strings (UTF-8); an image must then be base64 (JSON cannot carry a JPEG's bytes)."""
    if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
        raise OipError(f"inputs.{name}: BYTES data must be a list of strings")
    if name != "image":
        return [x.encode("utf-8", "surrogatepass") for x in data]
    try:
        return [base64.b64decode(x, validate=True) for x in data]
    except (binascii.Error, ValueError):
        raise OipError("inputs.image: JSON image data must be base64 (or send it as binary data)") from None


def parse_request(body: bytes, header_length: str | None) -> tuple[dict[str, list[bytes]], dict]:
    """The request's inputs as lists of bytes by name, and the request object itself. Every defect is one line."""
    try:
        json_length = int(header_length) if header_length is not None else len(body)
    except ValueError:
        raise OipError(f"{HEADER}: not an integer ({header_length!r})") from None
    if not 0 <= json_length <= len(body):
        raise OipError(f"{HEADER}: {json_length} is not within the body's {len(body)} bytes")
    try:
        request = json.loads(body[:json_length])
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise OipError("the request is not a JSON object (or its JSON length header is wrong)") from None
    if not isinstance(request, dict) or not isinstance(request.get("inputs"), list):
        raise OipError("the request needs an 'inputs' list")
    binary, at, inputs = body[json_length:], 0, {}
    for i, tensor in enumerate(request["inputs"]):
        if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
            raise OipError(f"inputs[{i}]: a tensor needs a name")
        name = tensor["name"]
        if name not in INPUTS:
            raise OipError(f"inputs.{name}: unknown input (this model takes {', '.join(INPUTS)})")
        if tensor.get("datatype") != "BYTES":
            raise OipError(f"inputs.{name}: datatype must be BYTES, got {tensor.get('datatype')!r}")
        size = (tensor.get("parameters") or {}).get("binary_data_size")
        if size is not None:
            if not isinstance(size, int) or size < 0 or at + size > len(binary):
                raise OipError(f"inputs.{name}: binary_data_size {size!r} does not fit the binary data sent")
            elements = _bytes_elements(binary[at : at + size], f"inputs.{name}")
            at += size
        else:
            elements = _json_elements(tensor.get("data"), name)
        shape = tensor.get("shape")
        if shape not in ([len(elements)], [len(elements), 1]):
            raise OipError(f"inputs.{name}: shape {shape!r} does not match its {len(elements)} elements")
        inputs[name] = elements
    missing = [n for n, required in INPUTS.items() if required and n not in inputs]
    if missing:
        raise OipError(f"inputs: {', '.join(missing)} missing")
    counts = {len(v) for v in inputs.values()}
    if len(counts) != 1 or not 1 <= next(iter(counts)) <= MAX_ITEMS:
        raise OipError(f"inputs: every input needs the same number of items, 1 to {MAX_ITEMS}")
    return inputs, request


def top_k_of(request: dict) -> int:
    value = (request.get("parameters") or {}).get("top_k", 3)
    if isinstance(value, bool) or not isinstance(value, int):
        raise OipError(f"parameters.top_k: an integer, got {value!r}")
    return value


def outputs_of(probs: np.ndarray, codes: np.ndarray, top_k: int) -> dict[str, np.ndarray]:
    """probs (N, classes), and each row's top-k codes and probabilities, best first."""
    order = np.argsort(-probs, axis=1, kind="stable")[:, :top_k]
    return {
        PROBS: probs.astype(np.float32),
        "top_k_codes": codes[order].astype(np.int32),
        "top_k_probs": np.take_along_axis(probs, order, axis=1).astype(np.float32),
    }


def response(name: str, version: str, request: dict, outputs: dict[str, np.ndarray]) -> tuple[bytes, dict]:
    """The response body and its headers: JSON outputs, or the binary extension's JSON header + raw tensors."""
    wanted = request.get("outputs")
    binary_all = bool((request.get("parameters") or {}).get("binary_data_output", False))
    if wanted is None:
        chosen = [(n, binary_all) for n in OUTPUTS]
    else:
        if not isinstance(wanted, list) or not all(isinstance(o, dict) and o.get("name") in OUTPUTS for o in wanted):
            raise OipError(f"outputs: each requested output must be one of {', '.join(OUTPUTS)}")
        chosen = [(o["name"], bool((o.get("parameters") or {}).get("binary_data", binary_all))) for o in wanted]
    tensors, blobs = [], []
    for out_name, as_binary in chosen:
        array = outputs[out_name]
        tensor = {"name": out_name, "datatype": OUTPUTS[out_name], "shape": list(array.shape)}
        if as_binary:
            # The extension's byte order is little-endian whatever the host's.
            little = np.dtype(DTYPES[OUTPUTS[out_name]]).newbyteorder("<")
            blobs.append(np.ascontiguousarray(array, dtype=little).tobytes())
            tensor["parameters"] = {"binary_data_size": len(blobs[-1])}
        else:
            tensor["data"] = array.reshape(-1).tolist()
        tensors.append(tensor)
    answer = {"model_name": name, "model_version": version, "outputs": tensors}
    if isinstance(request.get("id"), str):
        answer["id"] = request["id"]
    head = json.dumps(answer)
    head_bytes = head.encode()
    if not blobs:
        return head_bytes, {"content-type": "application/json"}
    return head_bytes + b"".join(blobs), {
        "content-type": "application/octet-stream",
        HEADER: str(len(head_bytes)),
    }
