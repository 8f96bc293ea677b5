"""Corpus replication for the benchmarks: the five reports copied N times with distinct ids and slightly varied text."""

from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
from pathlib import Path

import numpy as np

from assistant.search.embeddings import embed_windows, has_token_vectors

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
METADATA = "metadata.json"

# Word swaps that keep each word one cl100k token (checked), so chunk boundaries stay where they were.
SWAPS = {
    "important": "significant", "however": "nevertheless", "help": "aid", "large": "big", "new": "novel",
    "work": "labour", "staff": "personnel", "many": "numerous", "local": "regional", "example": "instance",
    "across": "throughout", "improve": "enhance", "need": "require", "different": "distinct",
    "support": "backing", "often": "frequently", "small": "little", "using": "employing", "provide": "supply",
    "number": "count", "approach": "method", "people": "persons", "changes": "shifts", "services": "provisions",
}
_SWAP_RE = re.compile(r"(?<= )(" + "|".join(SWAPS) + r")(?=[ ,.;:])")
_BACK = {v: k for k, v in SWAPS.items()}
_BACK_RE = re.compile(r"\b(" + "|".join(_BACK) + r")\b")
PER_LINE, SWAP_P = 3, 0.6  # at most this many words changed per body line; chance of each swap


def copy_name(filename: str, n: int) -> str:
    """File name of copy `n` of a report (copy 0 is the report itself)."""
    if n == 0:
        return filename
    stem, dot, ext = filename.rpartition(".")
    return f"{stem}-copy-{n:03d}.{ext}"


def perturb(text: str, n: int, total: int) -> str:
    """Copy `n` of a report's text: a few words swapped on each body line and a closing line naming the copy."""
    rng = random.Random(f"{n}")
    out = []
    for line in text.split("\n"):
        spots = [m for m in (_SWAP_RE.finditer(line) if len(line) >= 60 else ()) if rng.random() < SWAP_P]
        for m in reversed(spots[:PER_LINE]):
            line = line[: m.start()] + SWAPS[m.group(1)] + line[m.end():]
        out.append(line)
    return "\n".join(out).rstrip() + f"\n\nThis is copy {n} of {total} of this report, made for benchmarking.\n"


def canonical(text: str) -> str:
    """The text with every swap undone and case folded: copies of one passage share this key."""
    return _BACK_RE.sub(lambda m: _BACK[m.group(1)], text.lower())


def build_corpus(scale: int, target: Path, source: Path = KNOWLEDGE) -> Path:
    """Write `scale` copies of every report in `source` (copy 0 unchanged) with metadata under `target`."""
    stamp = target / ".bench-scale"
    if stamp.exists() and stamp.read_text() == str(scale):
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    entries = json.loads((source / METADATA).read_text(encoding="utf-8"))
    metadata = {}
    for filename, entry in sorted(entries.items()):
        text = (source / filename).read_text(encoding="utf-8")
        for n in range(scale):
            name = copy_name(filename, n)
            (target / name).write_text(text if n == 0 else perturb(text, n, scale - 1), encoding="utf-8")
            metadata[name] = entry if n == 0 else {
                **entry, "doc_id": f"{entry['doc_id']}-copy-{n:03d}", "title": f"{entry['title']} (copy {n})"}
    (target / METADATA).write_text(json.dumps(metadata, indent=1), encoding="utf-8")
    stamp.write_text(str(scale))
    return target


class ReplayEmbeddings:
    """Embeds the original passages for real and gives each copy its original's vector plus tiny noise."""

    def __init__(self, real, noise: float = 0.005) -> None:
        self._real = real
        self.name = getattr(real, "name", type(real).__name__)
        self._noise = noise
        self._known: dict[str, tuple[str, np.ndarray]] = {}
        self._tokens: dict[str, np.ndarray] = {}  # word-piece vectors of the originals' pieces, by canonical text
        self.real_embedded = 0
        self.reused = 0

    def prime(self, windows: list[tuple[str, ...]]) -> None:
        """Embed the original passages' sentence windows once (for real), as an ingest would."""
        windows = list(dict.fromkeys(windows))
        tokens: dict[str, np.ndarray] | None = {} if has_token_vectors(self._real) else None
        for parts, vec in zip(windows, embed_windows(self._real, windows, tokens)):
            text = " ".join(parts)
            self._known[canonical(text)] = (text, np.asarray(vec, dtype=np.float32))
        self._tokens.update((canonical(p), v) for p, v in (tokens or {}).items())
        self.real_embedded += len(windows)

    def _vector(self, text: str) -> np.ndarray | None:
        hit = self._known.get(canonical(text))
        if hit is None:
            return None
        original, vec = hit
        if original == text:
            return vec
        seed = int.from_bytes(hashlib.sha1(text.encode()).digest()[:8], "little")
        noisy = vec + np.random.default_rng(seed).normal(0.0, self._noise, vec.shape).astype(np.float32)
        return noisy / np.linalg.norm(noisy)

    def _replay(self, texts: list[str], embed_missing) -> list[list[float]]:
        """Reused vectors where a text is a copy of an original's; `embed_missing(indices)` embeds the rest for real."""
        vecs = [self._vector(t) for t in texts]
        missing = [i for i, v in enumerate(vecs) if v is None]
        if missing:
            for i, v in zip(missing, embed_missing(missing)):
                vecs[i] = np.asarray(v, dtype=np.float32)
            self.real_embedded += len(missing)
        self.reused += len(texts) - len(missing)
        return [v.tolist() for v in vecs]

    def embed_composed(self, windows: list[tuple[str, ...]],
                       piece_tokens: dict[str, np.ndarray] | None = None) -> list[list[float]]:
        """Reused vectors where a window is a copy of an original's; the real model's (composed) for the rest.

        Word-piece vectors, when asked for, are the original piece's for a copy (its swapped words keep the
        original's vectors) and the real model's for a piece with no original.
        """
        if piece_tokens is not None:
            pieces = list(dict.fromkeys(p for w in windows for p in w))
            fresh = [p for p in pieces if canonical(p) not in self._tokens]
            if fresh:
                self._real.embed_composed([(p,) for p in fresh], piece_tokens)
            piece_tokens.update((p, self._tokens[canonical(p)]) for p in pieces if canonical(p) in self._tokens)
        return self._replay([" ".join(w) for w in windows],
                            lambda missing: embed_windows(self._real, [windows[i] for i in missing]))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Reused vectors where a passage is a copy of an original; real embeddings for the rest."""
        return self._replay(texts, lambda missing: self._real.embed_documents([texts[i] for i in missing]))

    def embed_query(self, text: str) -> list[float]:
        """Questions are always embedded for real."""
        return self._real.embed_query(text)

    def query_tokens(self, text: str):
        """Questions' word-piece vectors, for real."""
        return self._real.query_tokens(text)
