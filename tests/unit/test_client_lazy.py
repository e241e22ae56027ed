"""The client's lazy command registry: honest help, and only the imports a command needs."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

from cinder_lab.cmd import client


def test_registry_matches_every_command_module():
    """The static table names every command of every module, with its docstring's first line."""
    expected = {}
    for module_name in client.COMMAND_MODULES:
        for name, cls in importlib.import_module(module_name).COMMANDS.items():
            first_line = inspect.getdoc(cls).splitlines()[0]
            expected[name] = (f"{cls.__module__}:{cls.__name__}", first_line)
    assert client.COMMANDS == expected


def test_lazy_entry_loads_the_class_without_plugin_lookups():
    cls = client.LazyEntry("service-list", client.COMMANDS["service-list"][0]).load()
    from cinder_lab.cmd import shell

    assert issubclass(cls, shell.ServiceList) and cls.__doc__ == shell.ServiceList.__doc__
    command = cls(client.CinderLab(), None, cmd_name="service-list")
    assert command._hooks == [] and command.get_epilog() == ""


def run_client(tmp_path, *args: str) -> subprocess.CompletedProcess:
    conf = tmp_path / "lab.conf"
    conf.write_text(f"[database]\nconnection = sqlite:///{tmp_path}/lab.sqlite\n")
    # The modules loaded by the end of the run, printed last on stderr.
    wrapper = (
        "import sys\nfrom cinder_lab.cmd import client\n"
        "try: sys.exit(client.main(sys.argv[1:]))\n"
        "finally: print('MODULES', *sorted(sys.modules), file=sys.stderr)"
    )
    return subprocess.run(
        [sys.executable, "-c", wrapper, "--config-file", str(conf), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def imported(proc: subprocess.CompletedProcess) -> set[str]:
    return set(proc.stderr.rsplit("MODULES ", 1)[1].split())


def test_service_list_never_imports_oslo_messaging(tmp_path):
    proc = run_client(tmp_path, "service-list", "-f", "json")
    assert proc.returncode == 0, proc.stderr[-500:]
    assert proc.stdout.strip() == "[]"
    names = imported(proc)
    assert "sqlalchemy.orm" in names and "cinder_lab.cmd.shell" in names
    assert not {n for n in names if n.startswith(("oslo_messaging", "kombu", "oslo_service"))}


def test_help_lists_every_command_without_importing_them(tmp_path):
    proc = run_client(tmp_path, "--help")
    assert proc.returncode == 0, proc.stderr[-500:]
    listed = proc.stdout.split("\nCommands:\n", 1)[1]
    for name, (_, text) in client.COMMANDS.items():
        assert f"  {name} " in listed and text.rstrip(".") in listed
    names = imported(proc)
    loaded = {n for n in names if n.startswith("cinder_lab.cmd.")}
    assert loaded == {"cinder_lab.cmd.client", "cinder_lab.cmd.common"}
    assert "oslo_messaging" not in names and "sqlalchemy.orm" not in names
