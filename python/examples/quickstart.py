"""The store from Python in a few lines: an embedded sqlite_vec file, a few fingerprints, the
nearest to a new one. Run with the package installed: `python python/examples/quickstart.py`."""

import asyncio
import pathlib
import tempfile

from decnet_vectorstore import Neighbor
from decnet_vectorstore.sqlite_vec import SqliteVecVectorStore


async def nearest_sessions(db_path: pathlib.Path) -> list[Neighbor]:
    store = SqliteVecVectorStore(db_path=db_path)
    await store.initialize()
    try:
        for session, timing in {"s1": [0.11, 0.31, 0.09], "s2": [0.52, 0.12, 0.33], "s3": [0.10, 0.30, 0.10]}.items():
            await store.insert("keystroke_dwell", session, timing)
        info = await store.kind_info("keystroke_dwell")
        assert info is not None and info.count == 3
        return await store.knn("keystroke_dwell", [0.1, 0.3, 0.1], k=2)
    finally:
        await store.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        hits = asyncio.run(nearest_sessions(pathlib.Path(directory) / "vectors.sqlite"))
    for hit in hits:
        print(f"{hit.id}\t{hit.distance:.4f}")
    assert [hit.id for hit in hits] == ["s3", "s1"], hits


if __name__ == "__main__":
    main()
