"""What a path imports, and what a session keeps: the structural side of start-up speed (the figures are in
`python -m benchmarks.bench`; no test here measures time)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from zorora_e2e_plugin.config.settings import Storage
from zorora_e2e_plugin.s3.store import make_s3_client

HEAVY = ("boto3", "botocore", "rich", "requests", "moto", "urllib3")

_PROBE = f"""
import json, sys
from zorora_e2e_plugin.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({{"code": code, "heavy": sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))}}))
"""


def probe(*args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONA_", "AWS_", "TEST_", "OUTPUT_BUCKET"))}
    done = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, timeout=60, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "args, code",
    [
        (["--help"], 0),
        (["run", "--help"], 0),
        (["history", "--help"], 0),
        (["run"], 2),  # no ONA_API_BASE_URL: a settings error
        (["run", "--base-url", "ftp://x/prod/api/v1", "--token", "t"], 2),
        (["sweep", "--older-than", "soon"], 2),
        (["sweep", "--customer-id", "real-customer"], 2),
    ],
)
def test_help_and_settings_errors_import_nothing_heavy(args, code):
    result = probe(*args)
    assert result == {"code": code, "heavy": []}


def test_a_run_path_does_load_botocore_but_not_boto3():
    """The run's S3 client comes from botocore directly; boto3's extra imports are never paid."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from zorora_e2e_plugin.s3.store import make_s3_client;"
            "from zorora_e2e_plugin.config.settings import Storage;"
            "make_s3_client(Storage(s3_endpoint_url='http://127.0.0.1:9', aws_access_key_id='a',"
            " aws_secret_access_key='b'));"
            "print('boto3' in sys.modules, 'botocore' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.split() == ["False", "True"], done.stderr


def test_the_s3_client_is_kept_per_settings_and_aws_environment(monkeypatch):
    storage = Storage(
        bucket="b",
        region="af-south-1",
        s3_endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="key-a",
        aws_secret_access_key="secret-a",
    )
    first = make_s3_client(storage)
    assert make_s3_client(Storage(**{**storage.__dict__})) is first  # equal settings: the same client
    assert make_s3_client(Storage(**{**storage.__dict__, "timeout": 3.0})) is not first
    assert make_s3_client(Storage(**{**storage.__dict__, "aws_secret_access_key": "secret-b"})) is not first
    original = os.environ.get("AWS_CONFIG_FILE")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/zorora-e2e/config")  # the chain could give other keys
    other = make_s3_client(storage)
    assert other is not first
    if original is None:
        monkeypatch.delenv("AWS_CONFIG_FILE")
    else:
        monkeypatch.setenv("AWS_CONFIG_FILE", original)
    assert make_s3_client(storage) is first


def test_start_client_builds_once_however_often_it_is_asked(monkeypatch):
    """The CLI starts the S3 client before importing the engine and validate() asks again: one build thread,
    and none at all once the client is kept."""
    from zorora_e2e_plugin.s3 import store

    threads = []
    real = store._in_background

    def counted(fn, *args, name):
        threads.append(name)
        real(fn, *args, name=name)

    monkeypatch.setattr(store, "_in_background", counted)
    storage = Storage(
        bucket="b",
        region="af-south-1",
        s3_endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="key-once",
        aws_secret_access_key="secret-once",
    )
    store.start_client(storage)
    store.start_client(storage)
    client = make_s3_client(storage)  # waits for the build under way (the lock), then finds it
    store.start_client(storage)
    assert threads == ["zorora-e2e-s3-client"]
    assert make_s3_client(storage) is client


def test_the_s3_client_is_built_without_listing_every_service(monkeypatch):
    """botocore's Loader lists ~450 service directories to check the name "s3" before loading its models (30-45
    ms of the first client's build, which the first S3 request waits for): the run's sessions look s3 up by
    name (botocore_loader.py), and the client is botocore's S3 client all the same."""
    from botocore.loaders import Loader

    listed = []
    real = Loader.list_available_services
    monkeypatch.setattr(
        Loader, "list_available_services", lambda self, type_name: listed.append(type_name) or real(self, type_name)
    )
    monkeypatch.setenv("AWS_ZORORA_E2E_TEST_SESSION", "listing")  # another AWS environment: a new session
    storage = Storage(
        bucket="b",
        region="af-south-1",
        s3_endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="key-l",
        aws_secret_access_key="secret-l",
    )
    client = make_s3_client(storage)
    assert client.meta.service_model.service_name == "s3"
    assert client.meta.region_name == "af-south-1"
    assert listed == []


def test_a_service_is_known_by_name_exactly_when_botocore_would_list_it(tmp_path):
    """A service is known for a model type when one of its API versions has that file (as .json or .json.gz);
    the whole list, when asked for, is botocore's own."""
    from botocore.exceptions import UnknownServiceError
    from botocore.loaders import Loader

    from zorora_e2e_plugin.s3.botocore_models import NamedServiceLoader

    (tmp_path / "alpha" / "2020-01-01").mkdir(parents=True)
    (tmp_path / "alpha" / "2020-01-01" / "service-2.json").write_text('{"metadata": {}, "shapes": {}}')
    (tmp_path / "beta" / "2019-01-01").mkdir(parents=True)
    (tmp_path / "beta" / "2019-01-01" / "paginators-1.json").write_text("{}")
    (tmp_path / "gamma" / "2021-01-01").mkdir(parents=True)  # a version directory with no model in it
    (tmp_path / "delta").write_text("not a directory")
    ours = NamedServiceLoader(extra_search_paths=[str(tmp_path)], include_default_search_paths=False)
    botocores = Loader(extra_search_paths=[str(tmp_path)], include_default_search_paths=False)
    for type_name in ("service-2", "paginators-1", "waiters-2"):
        known = ours.list_available_services(type_name)
        for name in ("alpha", "beta", "gamma", "delta", "epsilon"):
            assert (name in known) == (name in botocores.list_available_services(type_name)), (name, type_name)
        assert list(known) == botocores.list_available_services(type_name)
        assert len(known) == len(botocores.list_available_services(type_name))
    assert ours.load_service_model("alpha", "service-2") == {"metadata": {}, "shapes": {}}
    with pytest.raises(UnknownServiceError, match="Valid service names are: alpha"):
        ours.load_service_model("beta", "service-2")
