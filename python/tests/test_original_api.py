"""The original package's modules and names, where DECNET imports them from, so that each of
DECNET's four modules can become a one-line re-export; and the records as the original's
frozen dataclasses."""

import copy
import dataclasses
import os
import pathlib
import pickle
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import pytest

import decnet_vectorstore
from decnet_vectorstore import base, factory, fake, sqlite_vec

from conftest import present

pytestmark = pytest.mark.anyio


def test_the_original_names_are_in_the_original_modules() -> None:
    assert base.VECTORSTORE_SCHEMA_VERSION == decnet_vectorstore.VECTORSTORE_SCHEMA_VERSION >= 1
    for module, names in {
        base: ["BaseVectorStore", "VectorRecord", "Neighbor", "VECTORSTORE_SCHEMA_VERSION"],
        factory: ["get_vectorstore", "_default_db_path"],
        fake: ["FakeVectorStore", "NullVectorStore"],
        sqlite_vec: ["SqliteVecVectorStore", "SqliteVecUnavailable"],
    }.items():
        missing = [name for name in names if not hasattr(module, name)]
        assert not missing, f"{module.__name__} lacks {missing}"
    # The package root re-exports the same objects, not copies.
    assert decnet_vectorstore.VectorRecord is base.VectorRecord
    assert decnet_vectorstore.get_vectorstore is factory.get_vectorstore
    assert decnet_vectorstore.SqliteVecVectorStore is sqlite_vec.SqliteVecVectorStore
    assert issubclass(sqlite_vec.SqliteVecUnavailable, RuntimeError)


def test_every_store_is_a_base_vector_store(tmp_path: pathlib.Path) -> None:
    stores = [fake.FakeVectorStore(), fake.NullVectorStore(), sqlite_vec.SqliteVecVectorStore(tmp_path / "v.sqlite")]
    for store in stores:
        assert isinstance(store, base.BaseVectorStore)


async def test_base_vector_store_is_an_abc_decnet_can_subclass() -> None:
    with pytest.raises(TypeError, match="abstract"):
        base.BaseVectorStore()  # type: ignore[abstract]

    class Incomplete(base.BaseVectorStore):
        async def initialize(self) -> None:
            pass

    with pytest.raises(TypeError, match="abstract"):
        Incomplete()  # type: ignore[abstract]

    class Recording(base.BaseVectorStore):
        """A test double as DECNET writes them: every abstract method, its own state."""

        def __init__(self) -> None:
            self.rows: dict[tuple[str, str], base.VectorRecord] = {}

        async def initialize(self) -> None:
            pass

        async def close(self) -> None:
            pass

        async def health(self) -> dict[str, Any]:
            return {"ok": True, "backend": "recording", "kinds": 1, "vectors": len(self.rows)}

        async def insert(self, kind: str, id: str, vector: Sequence[float], *, extractor_version: int = 1) -> None:
            self.rows[(kind, id)] = base.VectorRecord(kind, id, vector, len(vector), extractor_version)

        async def get(self, kind: str, id: str) -> base.VectorRecord | None:
            return self.rows.get((kind, id))

        async def delete(self, kind: str, id: str) -> bool:
            return self.rows.pop((kind, id), None) is not None

        async def knn(self, kind: str, vector: Sequence[float], k: int = 10) -> list[base.Neighbor]:
            return [base.Neighbor(kind, id, 0.0) for (k_, id) in self.rows if k_ == kind][:k]

    double = Recording()
    await double.insert("ja3", "a", [1.0, 2.0])
    assert await double.get("ja3", "a") == base.VectorRecord("ja3", "a", (1.0, 2.0), 2, 1)
    assert await double.knn("ja3", [0.0, 0.0]) == [base.Neighbor("ja3", "a", 0.0)]
    assert (await double.health())["vectors"] == 1


async def test_sqlite_db_path_is_the_file_written(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The original constructor's keyword: the file appears there and nowhere under HOME.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DECNET_VECTORSTORE_PATH", raising=False)
    path = tmp_path / "srv" / "decnet" / "vectors.sqlite"
    store = sqlite_vec.SqliteVecVectorStore(db_path=str(path))
    await store.initialize()
    try:
        await store.insert("ja3", "s1", [0.5, 0.25])
        assert path.exists()
        assert (await store.health_detailed())["detail"]["path"] == str(path)
    finally:
        await store.close()
    assert not (tmp_path / "home").exists()
    reopened = sqlite_vec.SqliteVecVectorStore(db_path=path)
    await reopened.initialize()
    try:
        assert present(await reopened.get("ja3", "s1")).vector == (0.5, 0.25)
    finally:
        await reopened.close()


#: DECNET's four modules after the switch, as python/README.md shows them.
ONE_LINE_MODULES = {
    "base": "from decnet_vectorstore.base import *  # noqa: F401,F403",
    "factory": "from decnet_vectorstore.factory import _default_db_path, get_vectorstore  # noqa: F401",
    "fake": "from decnet_vectorstore.fake import *  # noqa: F401,F403",
    "sqlite_vec": "from decnet_vectorstore.sqlite_vec import *  # noqa: F401,F403",
}


def test_each_decnet_module_can_be_a_one_line_re_export(tmp_path: pathlib.Path) -> None:
    # What DECNET's code and tests import from its four modules must come through those lines.
    package = tmp_path / "decnet" / "vectorstore"
    package.mkdir(parents=True)
    (tmp_path / "decnet" / "__init__.py").write_text("")
    # DECNET's own __init__.py, unchanged: it imports from its submodules.
    (package / "__init__.py").write_text(
        "from decnet.vectorstore.base import BaseVectorStore, Neighbor, VectorRecord, VECTORSTORE_SCHEMA_VERSION\n"
        "from decnet.vectorstore.factory import get_vectorstore\n"
    )
    for name, line in ONE_LINE_MODULES.items():
        (package / f"{name}.py").write_text(line + "\n")
    script = (
        "from decnet.vectorstore.base import BaseVectorStore, VectorRecord, Neighbor, VECTORSTORE_SCHEMA_VERSION\n"
        "from decnet.vectorstore.factory import _default_db_path, get_vectorstore\n"
        "from decnet.vectorstore.fake import FakeVectorStore, NullVectorStore\n"
        "from decnet.vectorstore.sqlite_vec import SqliteVecVectorStore, SqliteVecUnavailable\n"
        "from decnet.vectorstore import get_vectorstore as root\n"
        "assert root is get_vectorstore\n"
        "assert isinstance(FakeVectorStore(), BaseVectorStore)\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECNET_VECTORSTORE_")}
    env["PYTHONPATH"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


# Records like the original's: frozen dataclasses, original fields in order.


async def _stored_record(tmp_path: pathlib.Path) -> tuple[base.VectorRecord, base.Neighbor]:
    store = sqlite_vec.SqliteVecVectorStore(tmp_path / "r.sqlite")
    await store.initialize()
    try:
        await store.insert("ja3", "s1", [1.5, -2.0, 0.25], extractor_version=3)
        record = present(await store.get("ja3", "s1"))
        hits = await store.knn("ja3", [1.5, -2.0, 0.0], k=1)
    finally:
        await store.close()
    return record, hits[0]


def test_record_fields_are_the_originals_in_order() -> None:
    names = [f.name for f in dataclasses.fields(base.VectorRecord)]
    assert names[:5] == ["kind", "id", "vector", "dim", "extractor_version"]
    assert names[5:] == ["written_at_ms"]
    assert [f.name for f in dataclasses.fields(base.Neighbor)] == ["kind", "id", "distance"]
    assert base.VectorRecord("k", "a", [1.0], 1).extractor_version == 1


async def test_records_from_a_store_are_frozen_hashable_dataclasses(tmp_path: pathlib.Path) -> None:
    record, hit = await _stored_record(tmp_path)
    assert dataclasses.is_dataclass(record) and dataclasses.is_dataclass(hit)
    assert type(record) is base.VectorRecord and type(hit) is base.Neighbor
    assert record.vector == (1.5, -2.0, 0.25) and record.dim == 3 and record.extractor_version == 3
    assert record.written_at_ms > 0
    assert (hit.kind, hit.id) == ("ja3", "s1") and hit.distance == pytest.approx(0.25)
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.id = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        hit.distance = 0.0  # type: ignore[misc]
    # Equal to one built by hand, hashed alike, found in sets and as dict keys.
    by_hand = base.VectorRecord("ja3", "s1", [1.5, -2.0, 0.25], 3, 3, record.written_at_ms)
    assert record == by_hand and hash(record) == hash(by_hand)
    assert record != dataclasses.replace(by_hand, extractor_version=2)
    assert {record, by_hand} == {record}
    assert hit in {base.Neighbor("ja3", "s1", hit.distance)}
    assert {hit: 1}[base.Neighbor("ja3", "s1", hit.distance)] == 1
    assert hit != base.Neighbor("ja3", "s2", hit.distance)


async def test_records_pickle_copy_and_convert(tmp_path: pathlib.Path) -> None:
    record, hit = await _stored_record(tmp_path)
    for value in (record, hit):
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            back = pickle.loads(pickle.dumps(value, protocol=protocol))
            assert back == value and type(back) is type(value) and hash(back) == hash(value)
        assert copy.deepcopy(value) == value and copy.copy(value) == value
    assert dataclasses.asdict(record) == {
        "kind": "ja3",
        "id": "s1",
        "vector": (1.5, -2.0, 0.25),
        "dim": 3,
        "extractor_version": 3,
        "written_at_ms": record.written_at_ms,
    }
    assert dataclasses.astuple(hit) == ("ja3", "s1", hit.distance)
    moved = dataclasses.replace(hit, id="s9")
    assert moved == base.Neighbor("ja3", "s9", hit.distance) and hit.id == "s1"
    assert dataclasses.replace(record, vector=[0.0, 0.0, 1.0]).vector == (0.0, 0.0, 1.0)
    match record:
        case base.VectorRecord(kind, id, vector, dim):
            assert (kind, id, dim) == ("ja3", "s1", 3) and vector == record.vector


def test_kind_info_is_hashable_and_picklable() -> None:
    info = decnet_vectorstore.KindInfo("ja3", 4, "cosine", 7)
    assert pickle.loads(pickle.dumps(info)) == info
    assert {info, decnet_vectorstore.KindInfo("ja3", 4, "cosine", 7)} == {info}
