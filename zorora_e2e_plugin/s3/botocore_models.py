"""A botocore data loader that finds a service's models by the service's name.

botocore's own Loader checks a name against a listing of every service it has models for before it loads
one: about 450 directories listed and 2,800 files looked for, 30-45 ms of the build of each process's first
S3 client, which the run's first S3 request waits for. `NamedServiceLoader` answers "is s3 known?" from s3's
own directory, as the listing would (a service is known for a model type when one of its API versions has
that file), and lists every service only when something asks for the whole list.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

import botocore.session
from botocore.exceptions import DataNotFoundError
from botocore.loaders import Loader


class NamedServiceLoader(Loader):
    # a lazy sequence where botocore's stubs say list[str]: botocore's callers only iterate it and ask `in`
    def list_available_services(self, type_name: str) -> KnownServices:  # type: ignore[override]  # lazy: not a list
        return KnownServices(self, type_name)


class KnownServices(Sequence[str]):
    """botocore's sorted list of the services with `type_name` models, listed on first use; `in` needs none."""

    def __init__(self, loader: Loader, type_name: str):
        self._loader, self._type_name = loader, type_name
        self._listing: list[str] | None = None

    def __contains__(self, service_name: object) -> bool:
        try:
            return isinstance(service_name, str) and bool(self._loader.list_api_versions(service_name, self._type_name))
        except (DataNotFoundError, OSError):  # none of its versions has the model; a file of that name
            return False

    def _all(self) -> list[str]:
        if self._listing is None:
            self._listing = Loader.list_available_services(self._loader, self._type_name)
        return self._listing

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())


def new_session() -> botocore.session.Session:
    """botocore's default session, reading its models through a NamedServiceLoader (same search paths)."""
    session = botocore.session.get_session()
    paths = list(session.get_component("data_loader").search_paths)
    session.register_component(
        "data_loader", NamedServiceLoader(extra_search_paths=paths, include_default_search_paths=False)
    )
    return session
