"""The embedded Chroma store's state on disk and in this process: its HNSW files checked by size, and a fresh client
that sees what other processes wrote."""

from __future__ import annotations

import struct
from pathlib import Path


def hnsw_damage(folder: Path) -> str:
    """What is wrong with the HNSW files of an embedded store ('' when nothing), read from their sizes alone.

    Chroma reads these files unchecked: a truncated data_level0.bin crashed the whole process (a segmentation
    fault, measured) on the first read of a vector. header.bin holds a 4-byte version, then 64-bit offset, capacity,
    element count and bytes per element; data_level0.bin holds count x bytes, length.bin 4 bytes per element.
    """
    for header in sorted(folder.glob("*/header.bin")):
        raw = header.read_bytes()
        if len(raw) < 36:
            return f"{header} is cut short"
        _, _, count, per_element = struct.unpack_from("<4Q", raw, 4)
        for name, size in (("data_level0.bin", count * per_element), ("length.bin", count * 4)):
            path = header.parent / name
            if not path.exists() or path.stat().st_size < size:
                return f"{path} is missing or cut short"
    return ""


def fresh_client(client):
    """A new embedded Chroma client over the same folder with its own state, which sees what other processes wrote.

    An embedded client never reads vectors another process added after it opened the store ("Error finding id";
    measured: a second process's 30 new vectors were listed but unreadable, and readable at once by a fresh system,
    opened in 36 ms). Chroma shares one system per folder in a process, so a new one is made and put in its place.
    """
    from chromadb.api import ServerAPI
    from chromadb.api.client import Client
    from chromadb.config import System
    from chromadb.telemetry.product import ProductTelemetryClient

    system = System(client.get_settings())
    system.instance(ProductTelemetryClient)
    system.instance(ServerAPI)
    system.start()
    return Client.from_system(system)
