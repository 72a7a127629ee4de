"""`agentcode doctor`: real checks of this machine, a line with the fix for each problem."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_cli

from agentcode import doctor
from agentcode.api.schemas import DoctorReportSchema
from agentcode.config import Settings
from agentcode.doctor import Check, DoctorContext, Status, run_checks
from agentcode.models import local_doctor
from agentcode.sandbox.local import doctor as jail_doctor

AWS_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_BEARER_TOKEN_BEDROCK")


@pytest.fixture(autouse=True)
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def by_name(document: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {line["name"]: line for line in document["checks"]}


def test_this_machine_is_ready_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_not_for_the_jail_0123456789abcdefghij")
    done = run_cli(["doctor", "--json"])
    assert done.exit_code == 0, done.stdout
    document = json.loads(done.stdout)
    DoctorReportSchema.model_validate(document)  # the schema `agentcode schema doctor` prints
    lines = by_name(document)
    assert document["ok"] is True
    assert lines["config"]["status"] == "ok" and "defaults" in lines["config"]["detail"]
    assert lines["bubblewrap"]["status"] == "ok"
    assert lines["sandbox python"]["status"] == "ok"
    assert "no secret variables inside" in lines["sandbox python"]["detail"]
    assert lines["history"]["status"] == "ok"
    assert lines["aws region"]["detail"].startswith("us-west-2 (from default)")
    assert lines["aws credentials"]["status"] == "warn"  # optional: nothing configured uses AWS
    assert lines["aws credentials"]["fix"]
    assert "aws identity" not in lines  # offline unless --online


def test_without_bubblewrap_the_default_path_fails_with_the_install_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    done = run_cli(["doctor"])
    assert done.exit_code == 1
    assert done.stdout.splitlines()[1].startswith("fail  bubblewrap")
    assert "fix: bubblewrap (bwrap) is not installed: install it with `apt-get install" in (
        done.stdout)


def test_configured_aws_without_credentials_fails(agentcode_home: Path) -> None:
    (agentcode_home / "config.toml").write_text('sandbox = "agentcore"\n', encoding="utf-8")
    document = json.loads(run_cli(["doctor", "--json"]).stdout)
    line = by_name(document)["aws credentials"]
    assert line["status"] == "fail" and "needed" in line["detail"] and line["fix"]
    assert document["ok"] is False


def test_region_flag_and_aws_region_are_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    lines = by_name(json.loads(run_cli(["doctor", "--json"]).stdout))
    assert lines["aws region"]["detail"].startswith("eu-west-1 (from AWS_REGION)")
    lines = by_name(json.loads(run_cli(["doctor", "--json", "--region", "us-east-2"]).stdout))
    assert lines["aws region"]["detail"].startswith("us-east-2 (from --region)")


def test_online_asks_sts_and_reports_its_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError

    from agentcode.aws import session

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.setattr(session, "caller_identity",
                        lambda settings: "arn:aws:iam::123456789012:user/dev")
    lines = by_name(json.loads(run_cli(["doctor", "--json", "--online"]).stdout))
    assert lines["aws credentials"]["detail"] == "found: env"
    assert lines["aws identity"]["detail"] == "STS says: arn:aws:iam::123456789012:user/dev"

    def expired(settings: Settings) -> str:
        raise ClientError({"Error": {"Code": "ExpiredToken", "Message": "token expired"}},
                          "GetCallerIdentity")

    monkeypatch.setattr(session, "caller_identity", expired)
    done = run_cli(["doctor", "--json", "--online"])
    line = by_name(json.loads(done.stdout))["aws identity"]
    assert line["status"] == "warn"  # nothing configured uses AWS: not a failure
    assert "ExpiredToken: token expired" in line["detail"] and line["fix"]
    assert done.exit_code == 0


def test_a_damaged_history_database_fails_with_the_way_out(agentcode_home: Path) -> None:
    db = agentcode_home / "history.db"
    db.write_bytes(b"this is not a database" * 100)
    done = run_cli(["doctor", "--json"])
    line = by_name(json.loads(done.stdout))["history"]
    assert done.exit_code == 1
    assert line["status"] == "fail" and "cannot read it" in line["detail"]
    assert f"move {db} aside" in line["fix"]


def test_a_healthy_history_database_is_checked_read_only(agentcode_home: Path) -> None:
    assert run_cli(["run", "-"], stdin="print(1)\n").exit_code == 0
    db = agentcode_home / "history.db"
    spooled = by_name(json.loads(run_cli(["doctor", "--json"]).stdout))["history"]
    assert spooled["status"] == "ok" and "waiting" in spooled["detail"]  # run spools its entry
    assert run_cli(["history"]).exit_code == 0  # a read merges it into the database
    before = db.stat().st_mtime_ns
    line = by_name(json.loads(run_cli(["doctor", "--json"]).stdout))["history"]
    assert line["detail"] == f"{db}: 1 entries, integrity ok"
    assert db.stat().st_mtime_ns == before
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM entries").fetchone()[0] == 1


def test_verified_weights_are_trusted_from_their_stamp_not_hashed_again(
    agentcode_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentcode.models import local, weights

    spec = local.LOCAL_MODELS[local.DEFAULT_LOCAL_MODEL]
    target = weights.target_path(spec)
    target.parent.mkdir(parents=True)
    with target.open("wb") as handle:  # sparse: the right size without 1.1 GB on disk
        handle.truncate(spec.size)
    weights._write_sidecar(spec, target)

    def no_hashing(*args: object) -> str:
        raise AssertionError("the weights were hashed again")

    monkeypatch.setattr(weights, "_hash_file", no_hashing)
    monkeypatch.setattr(local, "xllamacpp_installed", lambda: True, raising=False)
    [line] = local_doctor.check_embedded_model(DoctorContext(Settings()))
    assert line.status is Status.OK
    assert "weights assembled and verified" in line.detail and str(target) in line.detail
    os.utime(target, ns=(0, 0))  # changed since it was verified: no longer vouched for
    [line] = local_doctor.check_embedded_model(DoctorContext(Settings()))
    assert "verified" in line.detail and "assembled and verified" not in line.detail


def test_a_bad_config_file_is_a_failing_line_not_an_exit_2(agentcode_home: Path) -> None:
    (agentcode_home / "config.toml").write_text("timeout = 'soon'\n", encoding="utf-8")
    done = run_cli(["doctor"])
    assert done.exit_code == 1
    assert done.stdout.startswith("fail  config")
    assert "'timeout' in" in done.stdout


def test_the_list_of_checks_is_the_hook_and_a_crashing_check_is_one_line() -> None:
    def check_cgroups(ctx: DoctorContext) -> list[Check]:
        return [Check("cgroups", Status.WARN, "v1 only", "boot with cgroup v2")]

    def check_broken(ctx: DoctorContext) -> list[Check]:
        raise RuntimeError("boom")

    lines = run_checks(Settings(), checks=[check_cgroups, check_broken])
    assert lines[0] == Check("cgroups", Status.WARN, "v1 only", "boot with cgroup v2")
    assert lines[1].name == "broken" and lines[1].status is Status.FAIL
    assert "RuntimeError: boom" in lines[1].detail
    assert doctor.healthy(lines[:1]) and not doctor.healthy(lines)


def test_a_failing_bwrap_names_the_user_namespace_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\n[ \"$1\" = --version ] && echo 'bubblewrap 0.0' && exit 0\n"
                    "echo 'bwrap: No permissions to create new namespace' >&2; exit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    bwrap_line, userns_line = jail_doctor.check_bubblewrap(DoctorContext(Settings()))
    assert bwrap_line.detail == f"bubblewrap 0.0 at {fake}"
    assert userns_line.status is Status.FAIL
    assert "No permissions to create new namespace" in userns_line.detail
    assert userns_line.fix


def test_session_limits_say_how_they_hold_here_and_warn_without_cgroups(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentcode.sandbox.local import cgroup, tmpfs

    here = {line.name: line for line in jail_doctor.check_sandbox_limits(DoctorContext(Settings()))}
    expected = Status.OK if cgroup.hierarchies() else Status.WARN
    assert here["session limits"].status is expected
    inodes = Status.OK if tmpfs.inode_limits_available() else Status.WARN
    assert here["tmpfs inodes"].status is inodes
    frozen = Status.OK if cgroup.can_freeze() else Status.WARN
    assert here["freeze between executions"].status is frozen
    # A host that gives us neither: warnings (never a failure), each with its fix.
    monkeypatch.setattr(cgroup, "hierarchies", lambda: ())
    monkeypatch.setattr(tmpfs, "inode_limits_available", lambda: False)
    lines = list(jail_doctor.check_sandbox_limits(DoctorContext(Settings())))
    assert [(line.name, line.status) for line in lines] == [
        ("session limits", Status.WARN), ("freeze between executions", Status.WARN),
        ("tmpfs inodes", Status.WARN)]
    assert all(line.fix for line in lines)
    assert "rlimits" in lines[0].detail
