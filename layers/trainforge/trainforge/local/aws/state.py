"""The AWS emulator's state on disk, so local mode keeps what the user saw across a stop and a start.

moto keeps each service's state in memory, in one backend object per account and region. Each service is saved
to its own file as the pickled attributes of its backends, and loaded into the same backends at the next start,
before the server answers. Locks are saved as new locks; a reference from one backend to another (or to moto's
registries of them) is saved by name and resolved to the live backend when loaded, so nothing is duplicated.

A file is written whole and then renamed over the old one: a crash leaves the previous state, never half of one.
Files written by another moto version are not loaded (its classes may differ): :func:`load_services` says so.
"""

from __future__ import annotations

import contextlib
import copyreg
import io
import os
import pickle
import threading
import time
from pathlib import Path
from typing import Any

FORMAT = 1
SUFFIX = ".state"
RETRIES = 5
# A registry's own attributes; anything else on it is state (S3 keeps its bucket names' owners there).
_REGISTRY_FIELDS = frozenset({"backend", "service_name", "_use_boto3_regions", "_additional_regions", "_id"})


def _moto_version() -> str:
    # moto only when saving or loading its state
    import moto

    return str(moto.__version__)


def _registries() -> list[Any]:
    # moto only when saving or loading its state
    from moto.core.base_backend import BackendDict

    return list(BackendDict._instances)


def backends_by_service() -> dict[str, tuple[Any, list[tuple[str, str, Any]]]]:
    """Every backend moto has made so far: service → (its registry, [(account, region, backend)])."""
    found: dict[str, tuple[Any, list[tuple[str, str, Any]]]] = {}
    for registry in _registries():
        found.setdefault(registry.service_name, (registry, []))[1].extend(registry.iter_backends())
    return found


def _new_lock(_lock: Any) -> tuple[Any, tuple[()]]:
    return threading.Lock, ()


def _new_rlock(_lock: Any) -> tuple[Any, tuple[()]]:
    return threading.RLock, ()


class _Pickler(pickle.Pickler):
    """Locks are saved as new, unheld locks (a held one belongs to a request of the server that saved it)."""

    dispatch_table = {
        **copyreg.dispatch_table,
        type(threading.Lock()): _new_lock,
        type(threading.RLock()): _new_rlock,
    }

    def __init__(self, file: io.BytesIO, names: dict[int, tuple[str, ...]]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.names = names

    def persistent_id(self, obj: Any) -> tuple[str, ...] | None:
        return self.names.get(id(obj))


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        # moto only when saving or loading its state
        from moto.backends import get_backend

        kind, service, *rest = pid
        registry = get_backend(service)
        if kind == "registry":
            return registry
        if kind == "account":
            return registry[rest[0]]
        return registry[rest[0]][rest[1]]


def _names() -> dict[int, tuple[str, ...]]:
    """Backends and their registries, by identity, named so a reference to one is saved as its name."""
    names: dict[int, tuple[str, ...]] = {}
    for registry in _registries():
        names[id(registry)] = ("registry", registry.service_name)
        for account, regions in list(registry.items()):
            names[id(regions)] = ("account", registry.service_name, account)
            for region, backend in list(regions.items()):
                names[id(backend)] = ("backend", registry.service_name, account, region)
    return names


def dump_service(service: str, registry: Any, backends: list[tuple[str, str, Any]]) -> bytes:
    """One service's backends (and what its registry holds beside them), pickled. A request changing them
    meanwhile can break the walk ("changed size during iteration"): it is tried again."""
    names = _names()
    for attempt in range(RETRIES):
        buffer = io.BytesIO()
        try:
            state = {(account, region): dict(backend.__dict__) for account, region, backend in backends}
            shared = {k: v for k, v in registry.__dict__.items() if k not in _REGISTRY_FIELDS}
            _Pickler(buffer, names).dump(
                {
                    "format": FORMAT,
                    "moto": _moto_version(),
                    "service": service,
                    "state": state,
                    "registry": shared,
                }
            )
        except RuntimeError:
            if attempt == RETRIES - 1:
                raise
            time.sleep(0.01 * (attempt + 1))
            continue
        return buffer.getvalue()
    raise AssertionError("unreachable")


def save_services(folder: Path, services: set[str] | None = None) -> list[str]:
    """Write each service's state (``services``: only these) to ``folder``; the services written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for service, (registry, backends) in backends_by_service().items():
        if services is not None and service not in services:
            continue
        data = dump_service(service, registry, backends)
        target = folder / f"{service}{SUFFIX}"
        partial = target.with_suffix(".partial")
        with open(partial, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(target)
        written.append(service)
    return written


def load_services(folder: Path) -> tuple[list[str], list[str]]:
    """Load every saved service into moto's backends; (services loaded, problems found)."""
    loaded, problems = [], []
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        try:
            with open(path, "rb") as handle:
                saved = _Unpickler(handle).load()
        except Exception as exc:  # a file from an older release, or a disk gone wrong: say which
            problems.append(f"{path.name}: unreadable ({type(exc).__name__}: {exc})")
            continue
        if saved.get("format") != FORMAT or saved.get("moto") != _moto_version():
            problems.append(f"{path.name}: saved by moto {saved.get('moto')}, this is moto {_moto_version()}")
            continue
        from moto.backends import get_backend

        registry = get_backend(saved["service"])
        registry.__dict__.update(saved.get("registry", {}))
        for (account, region), attributes in saved["state"].items():
            registry[account][region].__dict__.update(attributes)
        loaded.append(saved["service"])
    return loaded, problems


def forget_services(folder: Path) -> None:
    for path in folder.glob(f"*{SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
