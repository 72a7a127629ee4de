"""Attacks on the kernel surface and on what the jail reveals, against the real jail.

Socket families are an allow-list (AF_UNIX, AF_INET, AF_INET6), rarely used and newer system
calls are refused, and nothing in the jail names a host path.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import agentcode
from agentcode.sandbox.local.session import LocalSandboxSession

PROJECT = str(Path(agentcode.__file__).resolve().parent.parent)


def verdict(jail: LocalSandboxSession, code: str) -> str:
    result = jail.execute(code)
    assert result.error is None, result.stderr
    return result.stdout.strip()


def test_only_unix_and_inet_socket_families(jail: LocalSandboxSession) -> None:
    out = verdict(jail, (
        "import socket\n"
        "out = {}\n"
        # Numbers, not names: a Python built without Bluetooth headers has no AF_BLUETOOTH.
        "families = {'AF_VSOCK': 40, 'AF_NETLINK': 16, 'AF_PACKET': 17, 'AF_ALG': 38,\n"
        "            'AF_BLUETOOTH': 31, 'AF_UNIX': 1, 'AF_INET': 2, 'AF_INET6': 10}\n"
        "for name, family in families.items():\n"
        "    kind = socket.SOCK_SEQPACKET if name == 'AF_ALG' else socket.SOCK_DGRAM\n"
        "    if name == 'AF_VSOCK': kind = socket.SOCK_STREAM\n"
        "    if name == 'AF_PACKET': kind = socket.SOCK_RAW\n"
        "    try:\n"
        "        socket.socket(family, kind).close(); out[name] = 'open'\n"
        "    except OSError as e:\n"
        "        out[name] = e.errno\n"
        "a, b = socket.socketpair(); a.close(); b.close()\n"
        "print(sorted(out.items()))"
    ))
    families = dict(eval(out))  # noqa: S307 - our own repr
    assert families.pop("AF_UNIX") == families.pop("AF_INET") == families.pop("AF_INET6") == "open"
    assert set(families.values()) == {97}  # EAFNOSUPPORT for every other family


def test_vsock_and_netlink_through_raw_syscalls_too(jail: LocalSandboxSession) -> None:
    # The filter is on the system call, not on Python's socket module.
    out = verdict(jail, (
        "import ctypes\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "res = []\n"
        "for family, kind in ((40, 1), (16, 3), (16, 2)):\n"
        "    fd = libc.socket(family, kind, 0)\n"
        "    res.append((fd, ctypes.get_errno()))\n"
        "print(res)"
    ))
    assert out == "[(-1, 97), (-1, 97), (-1, 97)]"


# The program calls syscalls by raw number, and modify_ldt (154) and the personality number
# exist only in the x86_64 table; the seccomp policy itself is tested on every arch above.
@pytest.mark.skipif(os.uname().machine != "x86_64",
                    reason="calls syscalls by their x86_64 numbers (modify_ldt exists only"
                    " on x86); this machine and CI are x86_64")
def test_rare_and_new_syscalls_are_refused(jail: LocalSandboxSession) -> None:
    out = verdict(jail, (
        "import ctypes\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "libc.syscall.restype = ctypes.c_long\n"
        "def call(nr, *args):\n"
        "    ctypes.set_errno(0)\n"
        "    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])\n"
        "    return (r, ctypes.get_errno())\n"
        "params = ctypes.create_string_buffer(120)\n"
        "print([\n"
        "    call(425, 8, ctypes.addressof(params)),\n"  # io_uring_setup
        "    call(447, 0),\n"  # memfd_secret
        "    call(154, 0, 0, 0),\n"  # modify_ldt
        "    call(135, 0x0040000),\n"  # personality(ADDR_NO_RANDOMIZE)
        "    call(444, 0, 0, 0),\n"  # landlock_create_ruleset
        "    call(458, 0, 0, 0, 0),\n"  # listmount
        "    call(500, 0),\n"  # a number no kernel has yet
        "    call(103, 3, 0, 0),\n"  # syslog
        "    call(172, 3),\n"  # iopl
        "])\n"
        "print(call(135, 0xffffffff)[1], call(39)[0] > 0)"  # personality query, getpid
    ))
    calls, allowed = out.splitlines()
    enosys, eperm = 38, 1
    assert eval(calls) == [(-1, enosys), (-1, enosys), (-1, eperm), (-1, eperm),  # noqa: S307
                           (-1, enosys), (-1, enosys), (-1, enosys), (-1, eperm), (-1, eperm)]
    assert allowed == "0 True"


def test_everyday_python_still_works_under_the_filter(jail: LocalSandboxSession) -> None:
    out = verdict(jail, (
        "import asyncio, multiprocessing, os, selectors, socket, subprocess, threading\n"
        "async def main():\n"
        "    await asyncio.sleep(0)\n"
        "    return 'async'\n"
        "got = [asyncio.run(main())]\n"
        "with multiprocessing.Pool(2) as pool:\n"
        "    got.append(sum(pool.map(abs, [-1, -2])))\n"
        "got.append(subprocess.run(['python3', '-c', 'print(7)'], capture_output=True,\n"
        "                          text=True).stdout.strip())\n"
        "fd = os.pidfd_open(os.getpid()); os.close(fd)\n"
        "srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen()\n"
        "cli = socket.create_connection(srv.getsockname()); conn, _ = srv.accept()\n"
        "cli.sendall(b'ping'); got.append(conn.recv(4).decode())\n"
        "print(got)"
    ))
    assert out == "['async', 3, '7', 'ping']"


def test_no_host_path_anywhere_the_code_looks(jail: LocalSandboxSession) -> None:
    host_paths = {PROJECT, os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}
    home = os.path.expanduser("~")
    out = verdict(jail, (
        "import os, sys, glob\n"
        "seen = [sys.executable, sys.prefix, sys.base_prefix, repr(sys.path),\n"
        "        os.environ.get('PATH', ''), os.getcwd()]\n"
        "for pid in [p for p in os.listdir('/proc') if p.isdigit()]:\n"
        "    for name in ('cmdline', 'environ', 'mountinfo', 'mounts'):\n"
        "        try:\n"
        "            data = open(f'/proc/{pid}/{name}', 'rb').read()\n"
        "            seen.append(data.decode('utf-8', 'replace'))\n"
        "        except OSError:\n"
        "            pass\n"
        "for pattern in ('/opt/agentcode/**/direct_url.json', '/opt/agentcode/**/__editable__*',\n"
        "                '/opt/agentcode/**/*.pth', '/opt/agentcode/venv/pyvenv.cfg'):\n"
        "    for path in glob.glob(pattern, recursive=True):\n"
        "        seen.append(open(path, errors='replace').read())\n"
        "text = '\\n'.join(seen)\n"
        "print(repr(text))"
    ))
    text = eval(out)  # noqa: S307 - our own repr
    assert "/opt/agentcode/" in text
    # mountinfo's "root" column is the one place a bind shows its source dir: see the README.
    visible = "\n".join(line for line in text.splitlines()
                        if not (line.count(" - ") == 1 and line.split()[4].startswith("/")
                                and line.split()[3] != line.split()[4]))
    for path in host_paths:
        assert path not in visible, path
    if home not in ("/", ""):
        assert home + "/" not in visible


def test_the_jail_runs_this_very_interpreter(jail: LocalSandboxSession) -> None:
    # Moved to a neutral path, a shared libpython must still be this build's, not another
    # one the dynamic linker would find in /usr.
    result = jail.execute("import sys\nprint(sys.version)")
    assert result.stdout == sys.version + "\n"


def test_the_mount_table_and_sysconfig_name_no_checkout_and_no_venv(
        jail: LocalSandboxSession) -> None:
    """Issue 24: the mount table's root column named the project checkout (the fontconfig
    file's bind) and the venv (its site-packages bind, 88 distributions readable), and 47
    sysconfig variables named the base interpreter's directory."""
    out = verdict(jail, (
        "import os, sys, sysconfig\n"
        "roots = [line.split()[3] for line in open('/proc/self/mountinfo')]\n"
        "named = sorted(k for k, v in sysconfig.get_config_vars().items()\n"
        "               if isinstance(v, str) and HOST in v)\n"
        "site = [p for p in ('/opt/agentcode/venv/lib', '/opt/agentcode/python/lib/python3.'\n"
        "        f'{sys.version_info[1]}/site-packages') if os.path.isdir(p) and os.listdir(p)]\n"
        "print(repr((roots, named, site)))"
    ).replace("HOST", repr(os.path.realpath(sys.base_prefix))))
    roots, named, site = eval(out)  # noqa: S307 - our own repr
    venv = os.path.realpath(sys.prefix)
    assert not [r for r in roots if PROJECT in r], roots
    if venv != os.path.realpath(sys.base_prefix):
        assert not [r for r in roots if r.startswith(venv)], roots
    if not os.path.realpath(sys.base_prefix).startswith("/usr"):
        assert named == [], named
    assert site == []


def test_the_mount_table_names_no_python_installation_dir(jail: LocalSandboxSession) -> None:
    """Issue 24: the root column of the Python installation's bind named the host directory it
    is kept in (/root/.pyenv/versions/3.11.7); a tree of hard links at a neutral path is bound
    instead (agentcode/sandbox/local/staging.py)."""
    from agentcode.sandbox.local.jail import PYTHON_ROOT, python_layout

    base = os.path.realpath(sys.base_prefix)
    if base.startswith("/usr/"):
        pytest.skip("a Python under /usr keeps its own path in the jail: there is none to hide")
    if (base, PYTHON_ROOT) in python_layout().binds:
        pytest.skip("no hard-link tree can be made here (the installation is on another file "
                    "system than /var/tmp, or linking is not permitted): docs/security.md")
    roots = eval(verdict(jail, "print(repr([line.split()[3] for line in "  # noqa: S307
                                "open('/proc/self/mountinfo')]))"))
    assert not [root for root in roots if root.startswith(base)], roots
    assert any(root.startswith("/var/tmp/agentcode-python-") for root in roots), roots
    # The same interpreter and standard library, through the links.
    assert jail.execute("import sys, json; print(sys.version)").stdout == sys.version + "\n"
