"""The compose lab checked without a Docker engine: docker-compose, the schema, the lab's rules.

The processes themselves run in tests/integration/test_compose_lab.py.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from tests import compose
from tests.compose import CLUSTER_FILE, COMPOSE_FILE, DEBUG_FILE, ROOT
from tests.procs import BIN

VENDORED_SCHEMA = ROOT / "tests" / "data" / "compose-spec.json"
# Shipped by Debian's docker-compose package (compose v1's copy of the compose spec).
DEBIAN_SCHEMA = Path("/usr/lib/python3/dist-packages/compose/config/compose_spec.json")

VARIANTS = {
    "base": ((COMPOSE_FILE,), ()),
    "debug": ((COMPOSE_FILE, DEBUG_FILE), ()),
    "cluster": ((COMPOSE_FILE, CLUSTER_FILE), ()),
    "tracing": ((COMPOSE_FILE,), ("--profile", "tracing")),
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_docker_compose_config_accepts_the_files(variant):
    files, profile = VARIANTS[variant]
    out = compose.compose(*profile, "config", "-q", files=files)
    assert (out.returncode, out.stderr) == (0, "")


def test_docker_compose_config_rejects_a_broken_copy(tmp_path):
    # The check above could pass on anything; a typo in a condition must fail it.
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        COMPOSE_FILE.read_text().replace("condition: service_healthy", "condition: healthy", 1)
    )
    out = compose.compose("config", "-q", files=(broken,))
    assert out.returncode != 0
    assert "condition" in out.stderr


def schemas() -> list[tuple[str, dict]]:
    found = [("compose-spec", json.loads(VENDORED_SCHEMA.read_text()))]
    compose.require_compose()  # Debian's schema comes with its docker-compose
    found.append(("debian-docker-compose", json.loads(DEBIAN_SCHEMA.read_text())))
    return found


@pytest.mark.parametrize(
    "path", [COMPOSE_FILE, DEBUG_FILE, CLUSTER_FILE], ids=["base", "debug", "cluster"]
)
def test_compose_files_match_the_compose_spec_schemas(path):
    document = compose.load(path)
    for name, schema in schemas():
        errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(document)]
        assert errors == [], (name, errors)
        # And the schema is not vacuous: an unknown service key is an error.
        bad = copy.deepcopy(document)
        next(iter(bad["services"].values()))["hostnmae"] = "typo"
        assert not jsonschema.Draft7Validator(schema).is_valid(bad), name


@pytest.fixture(scope="module")
def model():
    return compose.load()


@pytest.fixture(scope="module")
def lab(model):
    services = compose.lab_services(model)
    assert set(services) == {
        "openstack-volume",
        "kilo-volume",
        "kilo-backup",
        "kilo-scheduler",
        "kilo-api",
        "web",
    }
    return services


def test_broker_and_database_are_healthchecked_and_not_guest(model):
    rabbit, maria = model["services"]["rabbitmq"], model["services"]["mariadb"]
    assert rabbit["image"] == "rabbitmq:3-management"
    assert rabbit["healthcheck"]["test"] == ["CMD", "rabbitmq-diagnostics", "-q", "ping"]
    assert any(p.endswith(":15672:15672") for p in rabbit["ports"])
    assert rabbit["environment"]["RABBITMQ_DEFAULT_USER"] not in ("", "guest")
    assert rabbit["environment"]["RABBITMQ_DEFAULT_PASS"] not in ("", "guest")
    assert "healthcheck.sh" in maria["healthcheck"]["test"] or any(
        "mariadb-admin" in part for part in maria["healthcheck"]["test"]
    )


def test_every_lab_service_waits_for_healthy_broker_and_database(lab):
    for name, svc in lab.items():
        conditions = {dep: spec["condition"] for dep, spec in svc["depends_on"].items()}
        assert conditions == {"rabbitmq": "service_healthy", "mariadb": "service_healthy"}, name


def test_configs_are_mounted_read_only_and_use_the_compose_broker_and_database(model, lab):
    rabbit = model["services"]["rabbitmq"]["environment"]
    maria = model["services"]["mariadb"]["environment"]
    for name, svc in lab.items():
        etc_mounts = [m for m in compose.mounts(svc) if m[0].startswith("./etc/")]
        assert etc_mounts and all(ro for _src, _dst, ro in etc_mounts), name
        assert compose.CONF_IN_CONTAINER in [dst for _src, dst, _ro in etc_mounts], name
        conf = compose.config_of(svc)
        broker = urlsplit(conf["DEFAULT"]["transport_url"])
        assert (broker.scheme, broker.hostname, broker.port) == ("rabbit", "rabbitmq", 5672)
        assert (broker.username, broker.password) == (
            rabbit["RABBITMQ_DEFAULT_USER"],
            rabbit["RABBITMQ_DEFAULT_PASS"],
        )
        database = urlsplit(conf["database"]["connection"])
        assert (database.scheme, database.hostname, database.path) == (
            "mysql+pymysql",
            "mariadb",
            "/" + maria["MARIADB_DATABASE"],
        )
        assert (database.username, database.password) == (
            maria["MARIADB_USER"],
            maria["MARIADB_PASSWORD"],
        )
        # The hostname decides the queue names: no config may pin [DEFAULT] host.
        assert "host" not in conf["DEFAULT"], name


def test_hostnames_yield_the_notes_queues_and_rows(lab):
    servers = set().union(*(compose.expected_servers(svc) for svc in lab.values()))
    assert servers == compose.NOTE_ROWS
    assert {f"{binary}.{host}" for binary, host in servers} == compose.NOTE_SERVER_QUEUES
    registering = {n: s for n, s in lab.items() if compose.expected_servers(s)}
    assert {svc["hostname"] for svc in registering.values()} == {
        "maqi-openstack.novalocal",
        "maqi-kilo",
    }
    # The API and the live view add no row; the API is maqi-kilo's, the view no machine's.
    assert set(lab) - set(registering) == {"kilo-api", "web"}
    assert (lab["kilo-api"]["hostname"], lab["web"]["hostname"]) == ("maqi-kilo", "lab-web")


def _served_on(svc: dict, port: int) -> str:
    """Published on the host's loopback only, and healthy once that port answers inside:
    the path its healthcheck asks for."""
    assert any(p.startswith("127.0.0.1:") and p.endswith(f":{port}") for p in svc["ports"])
    probe = svc["healthcheck"]["test"]
    assert probe[:3] == ["CMD", "python", "-c"]  # the image has python, no curl
    (url,) = re.findall(r"'(http://[^']+)'", probe[3])
    assert urlsplit(url).netloc == f"127.0.0.1:{port}"
    return urlsplit(url).path


def test_kilo_api_listens_in_its_container_on_cinders_port(lab):
    api = lab["kilo-api"]
    assert api["command"][0] == "cinder-lab-api"
    assert api["volumes"] == lab["kilo-volume"]["volumes"]  # maqi-kilo's own config
    conf = compose.config_of(api)
    # [api] listen = 127.0.0.1 would take no connection from the published port.
    assert api["environment"]["OS_API__LISTEN"] == "0.0.0.0"
    assert not conf.has_option("api", "listen")
    assert int(conf.get("api", "port", fallback=compose.API_PORT)) == compose.API_PORT
    assert _served_on(api, compose.API_PORT) == "/v3/"  # the versions document, 200


def test_web_watches_the_compose_broker_with_its_real_flags(model, lab):
    web = lab["web"]
    argv = web["command"]
    assert argv[:3] == ["cinder-lab", "--config-file", compose.CONF_IN_CONTAINER]
    at = argv.index("web")
    flags = argv[at + 1 :]
    assert flags == ["--host", "0.0.0.0", "--port", str(compose.WEB_PORT), "--no-stories"]
    usage = subprocess.run(
        [str(BIN / "cinder-lab"), "web", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert usage.returncode == 0, usage.stderr
    assert all(f in usage.stdout for f in flags if f.startswith("--"))
    assert _served_on(web, compose.WEB_PORT) == "/api/topology"  # 503 until a first snapshot
    # The management API of the rabbitmq container, as the compose network names it.
    conf = compose.config_of(web)
    management = urlsplit(conf["management"]["url"])
    assert (management.hostname, management.port) == (
        model["services"]["rabbitmq"]["hostname"],
        15672,
    )
    assert urlsplit(conf["DEFAULT"]["transport_url"]).hostname == management.hostname


def test_debug_ports_are_unique_and_published(lab):
    ports = {}
    for name, svc in lab.items():
        port = svc["environment"]["DEBUGPY_PORT"]
        assert f"127.0.0.1:{port}:{port}" in svc["ports"], name
        ports[name] = port
    assert len(set(ports.values())) == len(ports), ports
    debug = compose.load(DEBUG_FILE)["services"]
    assert set(debug) == set(lab)
    assert all(svc["environment"]["DEBUGPY"] == "1" for svc in debug.values())


def test_jaeger_is_optional_and_receives_otlp(model, lab):
    jaeger = model["services"]["jaeger"]
    assert jaeger["profiles"] == ["tracing"]
    assert {"127.0.0.1:4317:4317", "127.0.0.1:4318:4318"} <= set(jaeger["ports"])
    for name, svc in lab.items():
        if name == "web":
            continue  # it sends no RPC: nothing of it to trace
        conf = compose.config_of(svc)
        assert conf["oslo_messaging_tracing"]["otel_exporter_otlp_endpoint"] == (
            "http://jaeger:4318"
        )
        assert "OS_OSLO_MESSAGING_TRACING__TRACING_ENABLED" in svc["environment"]


def test_dockerfile_matches_the_compose_file_and_the_checkout(lab):
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^WORKDIR /app$", text, re.M)
    for line in re.findall(r"^COPY (.+)$", text, re.M):
        *sources, _dest = line.split()
        for source in sources:
            if "*" not in source:
                assert (ROOT / source).exists(), source
    entrypoint = json.loads(re.search(r"^ENTRYPOINT (.+)$", text, re.M).group(1))
    assert all(svc["entrypoint"] == entrypoint for svc in lab.values())
    assert Path(compose.local_path(entrypoint[0], {})).stat().st_mode & 0o111
    # The image installs the 'debug' extra, and that extra brings debugpy.
    assert '".[debug]"' in text
    assert re.search(r'^debug = \[.*"debugpy', (ROOT / "pyproject.toml").read_text(), re.M)


def test_entrypoint_runs_the_command_as_given_unless_debugpy_is_asked(tmp_path):
    entrypoint = str(ROOT / "etc" / "compose" / "entrypoint.sh")
    out = subprocess.run(
        [entrypoint, "sh", "-c", 'echo "$0 $1"', "plain", "run"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "DEBUGPY": "0"},
    )
    assert (out.returncode, out.stdout) == (0, "plain run\n")
    out = subprocess.run(
        [entrypoint, "no-such-command"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "DEBUGPY": "1"},
    )
    assert out.returncode == 2
    assert out.stderr == "entrypoint: no command 'no-such-command'\n"


def test_vscode_attach_entries_match_the_debug_ports(lab):
    launch = json.loads((ROOT / ".vscode" / "launch.json").read_text())
    attach = [c for c in launch["configurations"] if c["request"] == "attach"]
    ports = {int(svc["environment"]["DEBUGPY_PORT"]) for svc in lab.values()}
    assert sorted(c["connect"]["port"] for c in attach) == sorted(ports)
    for entry in attach:
        assert entry["pathMappings"] == [
            {"localRoot": "${workspaceFolder}", "remoteRoot": compose.IMAGE_ROOT}
        ]
        # cinder-lab-volume forks a child per backend; debugpy follows them.
        assert entry["subProcess"] is True
    (everything,) = launch["compounds"]
    assert sorted(everything["configurations"]) == sorted(c["name"] for c in attach)
    (single,) = [c for c in launch["configurations"] if c["request"] == "launch"]
    assert single["module"] == "cinder_lab.cmd.demo"


def test_images_and_host_ports_are_variables_with_the_official_defaults():
    raw = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    assert raw["rabbitmq"]["image"] == "${RABBITMQ_IMAGE:-rabbitmq:3-management}"
    assert raw["mariadb"]["image"] == "${MARIADB_IMAGE:-mariadb:10.11}"
    lab = compose.lab_services({"services": raw})
    assert {svc["build"]["args"]["PYTHON_IMAGE"] for svc in lab.values()} == {
        "${PYTHON_IMAGE:-python:3.11-slim}"
    }
    # Published only on the loopback interface, each host port a variable.
    for name, svc in raw.items():
        for port in svc.get("ports", []):
            assert re.fullmatch(r"127\.0\.0\.1:(\$\{\w+:-\d+\}|\d+):\d+", port), (name, port)
    assert all(re.search(r"\$\{\w+_PORT:-", p) for s in lab.values() for p in s["ports"])
    # The local stand-ins' names (tools/images/local.env) are what build-local.sh tags.
    local = dict(
        line.split("=", 1)
        for line in (ROOT / "tools/images/local.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    script = (ROOT / "tools/images/build-local.sh").read_text()
    for var in ("RABBITMQ_IMAGE", "MARIADB_IMAGE", "PYTHON_IMAGE"):
        name = local[var].split("/")[1].split(":")[0]
        assert local[var] == f"cinder-lab-local/{name}:local"
        assert name in script.split("for name in ")[1].splitlines()[0]


def test_cluster_services_know_all_three_nodes_and_wait_for_them():
    model = compose.resolved((COMPOSE_FILE, CLUSTER_FILE))
    nodes = ["rabbitmq", "rabbitmq-2", "rabbitmq-3"]
    rabbit = model["services"]["rabbitmq"]["environment"]
    cookies = {model["services"][n]["environment"]["RABBITMQ_ERLANG_COOKIE"] for n in nodes}
    assert len(cookies) == 1
    assert [model["services"][n]["hostname"] for n in nodes] == nodes
    # The peer list names the same three nodes (rabbit@<hostname>).
    conf = (ROOT / "etc/compose/rabbitmq-cluster.conf").read_text()
    assert (
        re.findall(r"^cluster_formation\.classic_config\.nodes\.\d = rabbit@(\S+)$", conf, re.M)
        == nodes
    )
    for name, svc in compose.lab_services(model).items():
        url = urlsplit(svc["environment"]["OS_DEFAULT__TRANSPORT_URL"])
        hosts = [h.rpartition("@")[2] for h in url.netloc.split(",")]
        assert hosts == [f"{n}:5672" for n in nodes], name
        creds = {h.rpartition("@")[0] for h in url.netloc.split(",")}
        assert creds == {f"{rabbit['RABBITMQ_DEFAULT_USER']}:{rabbit['RABBITMQ_DEFAULT_PASS']}"}
        assert svc["environment"]["OS_OSLO_MESSAGING_RABBIT__RABBIT_QUORUM_QUEUE"] == "false"
        assert {d: c["condition"] for d, c in svc["depends_on"].items()} == {
            d: "service_healthy" for d in (*nodes, "mariadb")
        }
