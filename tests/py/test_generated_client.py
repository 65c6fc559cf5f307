"""The synchronous client is generated from the asynchronous one (tools/async_to_sync.py): the committed file
must be exactly what the generator makes, and the two clients must offer the same API."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path

import pytest

from livepanty_db import client_async, client_sync

ROOT = Path(__file__).resolve().parents[2]


def _generator():
    spec = importlib.util.spec_from_file_location("async_to_sync", ROOT / "tools" / "async_to_sync.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_generated_sync_client_is_current() -> None:
    generator = _generator()
    wanted = generator.generate(generator.SOURCE.read_text())
    assert generator.TARGET.read_text() == wanted, "livepanty_db/client_sync.py is stale: run `make generate`"


def test_check_mode_reports_a_stale_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generator = _generator()
    stale = tmp_path / "client_sync.py"
    stale.write_text(generator.TARGET.read_text() + "# edited by hand\n")
    monkeypatch.setattr(generator, "TARGET", stale)
    assert generator.main(["--check"]) == 1
    assert generator.main([]) == 0  # regenerates
    assert generator.main(["--check"]) == 0


def test_generation_maps_async_code_to_sync_code() -> None:
    generator = _generator()
    source = '"""doc"""\n\nimport asyncio\nimport contextlib\n\n\nasync def f(c: AsyncClient) -> None:\n' \
        "    async with c.transaction() as tx:\n        await tx.tip()\n    lock = asyncio.Lock()\n"
    generated = generator.generate(source)
    assert "async" not in generated.split('"""')[-1]
    assert "await" not in generated
    assert "def f(c: Client) -> None:" in generated
    assert "    with c.transaction() as tx:\n        tx.tip()\n    lock = threading.Lock()" in generated
    assert generated.index("import contextlib") < generated.index("import threading")  # re-sorted


def _public_api(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, callable)
        if not name.startswith("_")
    }


@pytest.mark.parametrize(
    ("sync_cls", "async_cls"),
    [
        (client_sync.Client, client_async.AsyncClient),
        (client_sync.Transaction, client_async.AsyncTransaction),
    ],
)
def test_sync_and_async_clients_offer_the_same_methods(sync_cls: type, async_cls: type) -> None:
    sync_api, async_api = _public_api(sync_cls), _public_api(async_cls)
    assert sorted(sync_api) == sorted(async_api)
    for name, signature in sync_api.items():
        assert list(signature.parameters) == list(async_api[name].parameters), name
        assert not inspect.iscoroutinefunction(getattr(sync_cls, name)), name
