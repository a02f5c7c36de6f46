"""deploy/terraform: the module parsed with python-hcl2 (the secret comes from the store and
never from Terraform, nothing inbound, encrypted disk, IMDSv2, the container runs
``bitunix-bot run --config``, the scrape reaches the bot's /metrics, the log file is
shipped), its templates rendered and run, and checkov over it with zero failed checks.
No terraform binary and no network."""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import shlex
import stat
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

from bitunix.config import Mode, load_config, resolve_mode
from bitunix.config.http import DEFAULT_HTTP_PORT, is_loopback

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "deploy" / "terraform"
TEMPLATES = MODULE / "templates"
CHECKOV = ROOT / ".venv-tools" / "bin" / "checkov"
CONFIG_PATH = "/etc/bitunix-bot/bitunix-bot.toml"
ENV_FILE = "/run/bitunix-bot/bot.env"
SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:bitunix-bot/api-keys-AbCdEf"
IMAGE = "registry.example/bitunix-bot@sha256:" + "ab" * 32


# --- reading the module ---------------------------------------------------------------------

def _load() -> dict[str, list[Any]]:
    """Every top-level block of every .tf file, by block type."""
    blocks: dict[str, list[Any]] = {}
    files = sorted(MODULE.glob("*.tf"))
    assert files
    for path in files:
        with path.open() as f:
            for kind, items in hcl2.load(f).items():
                blocks.setdefault(kind, []).extend(items)
    return blocks


MODULE_BLOCKS = _load()


def _named(section: str, kind: str) -> dict[str, dict[str, Any]]:
    """The ``section`` ("resource" or "data") blocks of type ``kind``, by name."""
    found: dict[str, dict[str, Any]] = {}
    for item in MODULE_BLOCKS.get(section, []):
        found.update(item.get(kind, {}))
    return found


def _resources(kind: str) -> dict[str, dict[str, Any]]:
    return _named("resource", kind)


def _data(kind: str) -> dict[str, dict[str, Any]]:
    return _named("data", kind)


def _variables() -> dict[str, dict[str, Any]]:
    return {name: body for item in MODULE_BLOCKS["variable"] for name, body in item.items()}


def _one(block: Any) -> dict[str, Any]:
    """A nested block (hcl2 gives a list of one dict)."""
    assert isinstance(block, list)
    assert len(block) == 1
    assert isinstance(block[0], dict)
    return block[0]


def _true(value: Any) -> bool:
    return value is True or value in ("True", "true")


def _hcl_string(text: str) -> str:
    """An HCL string literal's value (hcl2 keeps the backslash escapes)."""
    return text.replace("\\\\", "\\").replace('\\"', '"')


# --- rendering the templates as Terraform's templatefile would ------------------------------

def _render(name: str, values: dict[str, Any]) -> str:
    """The template with ``${name}`` and ``%{ if name ~}...%{ endif ~}`` filled in: the only
    template syntax the module's templates use (anything else fails here)."""
    text = (TEMPLATES / name).read_text()

    def cond(m: re.Match[str]) -> str:
        return m.group(2) if values[m.group(1)] else ""

    text = re.sub(r"%\{ if (\w+) ~\}\n(.*?)%\{ endif ~\}\n", cond, text, flags=re.S)
    assert "%{" not in text, f"{name}: template syntax this renderer does not know"

    def var(m: re.Match[str]) -> str:
        value = values[m.group(1)]
        return str(value).lower() if isinstance(value, bool) else str(value)

    text = re.sub(r"\$\{(\w+)\}", var, text)
    assert "${" not in text, f"{name}: an expression this renderer does not know"
    return text


def _placeholders(name: str) -> set[str]:
    text = (TEMPLATES / name).read_text()
    return set(re.findall(r"\$\{(\w+)\}", text)) | set(re.findall(r"%\{ if (\w+)", text))


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


MODULE_CONFIG = MODULE / "bitunix-bot.toml"


def _default(variable: str) -> Any:
    return _variables()[variable]["default"]


def _rendered(*, ecr: bool = False, force_live_trading: bool = False) -> dict[str, str]:
    env = _render("bitunix-bot-env.sh.tftpl", {"region": "eu-west-1", "secret_arn": SECRET_ARN,
                                               "force_live_trading": force_live_trading})
    unit = _render("bitunix-bot.service.tftpl",
                   {"image": IMAGE, "metrics_port": _default("metrics_port")})
    prometheus = _render("prometheus.yaml.tftpl",
                         {"name": _default("name"), "metrics_port": _default("metrics_port")})
    agent = _render("cloudwatch-agent.json.tftpl", {
        "region": "eu-west-1", "log_group": "/bitunix-bot/bot",
        "metrics_log_group": "/bitunix-bot/prometheus",
        "metrics_namespace": _default("metrics_namespace")})
    cloud_init = _render("cloud-init.yaml.tftpl", {
        "ecr": ecr, "config_b64": _b64(MODULE_CONFIG.read_text()), "env_script_b64": _b64(env),
        "unit_b64": _b64(unit), "prometheus_b64": _b64(prometheus), "agent_b64": _b64(agent)})
    return {"env": env, "unit": unit, "prometheus": prometheus, "agent": agent,
            "cloud_init": cloud_init}


def _write_files(cloud_init: str) -> dict[str, dict[str, Any]]:
    assert cloud_init.startswith("#cloud-config\n")
    doc = yaml.safe_load(cloud_init)
    files = {}
    for entry in doc["write_files"]:
        content = entry["content"]
        if entry.get("encoding") == "b64":
            content = base64.b64decode(content).decode()
        files[entry["path"]] = {**entry, "content": content}
    return files


def _templatefile_args(text: str) -> dict[str, set[str]]:
    """For each ``templatefile("${path.module}/templates/X", { ... })`` in ``text``: the keys
    of its map (nested calls are read on their own)."""
    calls: dict[str, set[str]] = {}
    for m in re.finditer(r'templatefile\("\$\{path\.module\}/templates/([^"]+)", \{', text):
        depth, i, keys = 1, m.end(), set()
        line_start = True
        while depth:
            ch = text[i]
            if ch in "{([":
                depth += 1
            elif ch in "})]":
                depth -= 1
            elif depth == 1 and line_start:
                key = re.match(r"\s*(\w+)\s*=", text[i:])
                if key:
                    keys.add(key.group(1))
            line_start = ch == "\n"
            i += 1
        calls[m.group(1)] = keys
    return calls


# --- the tests --------------------------------------------------------------------------------

def test_the_module_has_one_instance_its_secret_role_logs_and_firewall() -> None:
    assert set(_resources("aws_instance")) == {"bot"}
    assert set(_resources("aws_secretsmanager_secret")) == {"api_keys"}
    assert set(_resources("aws_security_group")) == {"bot"}
    assert set(_resources("aws_cloudwatch_log_group")) == {"bot", "metrics"}
    assert set(_resources("aws_iam_role")) == {"bot"}
    assert "aws_kms_key" in {t for item in MODULE_BLOCKS["resource"] for t in item}
    # A module: the caller configures the provider.
    assert "provider" not in MODULE_BLOCKS
    terraform = _one(MODULE_BLOCKS["terraform"])
    assert "aws" in _one(terraform["required_providers"])


def test_every_variable_is_typed_described_and_validated() -> None:
    variables = _variables()
    assert len(variables) >= 10
    for name, body in variables.items():
        assert body.get("type"), f"variable {name}: no type"
        assert len(body.get("description", "")) > 20, f"variable {name}: no description"
        if body["type"] in ("bool", "${bool}"):
            continue  # the type is the whole check
        rules = body.get("validation")
        assert rules, f"variable {name}: no validation"
        for rule in rules:
            assert f"var.{name}" in rule["condition"]
            # An error names the variable, like the bot's own "key section.name: ..." lines.
            assert rule["error_message"].startswith(f"{name}:"), rule["error_message"]
    for output in MODULE_BLOCKS["output"]:
        for name, body in output.items():
            assert body.get("description"), f"output {name}: no description"
            assert body.get("value"), f"output {name}: no value"


def _pattern(variable: str) -> re.Pattern[str]:
    condition = _variables()[variable]["validation"][0]["condition"]
    m = re.search(r'regex\("((?:[^"\\]|\\.)*)"', condition)
    assert m, condition
    return re.compile(_hcl_string(m.group(1)))


@pytest.mark.parametrize(("variable", "good", "bad"), [
    ("name", ["bitunix-bot", "bot2"], ["Bitunix", "-bot", "bot-", "b", "a" * 33]),
    ("vpc_id", ["vpc-0123456789abcdef0"], ["vpc-XYZ", "subnet-0123456789abcdef0"]),
    ("subnet_id", ["subnet-0123abcd"], ["subnet-", "vpc-0123abcd"]),
    # A tag can be moved to another image; a digest cannot.
    ("image", [IMAGE, "ghcr.io/o/bitunix-bot@sha256:" + "0" * 64],
     ["ghcr.io/o/bitunix-bot:latest", "ghcr.io/o/bitunix-bot", "x@sha256:abc"]),
    ("ami_id", ["ami-0123456789abcdef0"], ["ami-", "0123456789abcdef0"]),
    ("instance_type", ["t3.small", "c7i.large", "m7g.xlarge"], ["t3", "t3 small", ""]),
    ("ecr_repository_arn", ["arn:aws:ecr:eu-west-1:123456789012:repository/bitunix-bot"],
     ["arn:aws:s3:::bucket", "arn:aws:ecr:eu-west-1:1234:repository/x"]),
])
def test_the_validations_accept_good_values_and_refuse_bad_ones(
        variable: str, good: list[str], bad: list[str]) -> None:
    # Terraform's regex() is RE2; these patterns mean the same in Python's re.
    pattern = _pattern(variable)
    for value in good:
        assert pattern.search(value), (variable, value)
    for value in bad:
        assert not pattern.search(value), (variable, value)


def test_a_config_holding_a_key_is_refused_by_the_bot_config_validation() -> None:
    pattern = _pattern("bot_config")
    assert not pattern.search(MODULE_CONFIG.read_text())
    assert pattern.search('dry_run = true\n[venue]\n  api_key = "abc"\n')
    assert pattern.search('API_SECRET="abc"\n')


def test_the_api_keys_come_from_secrets_manager_and_never_from_terraform() -> None:
    # No secret version: the value is put in out of band and never enters the state.
    assert not _resources("aws_secretsmanager_secret_version")
    for name, body in _variables().items():
        assert not re.search(r"key|secret|token|password", name.replace("kms_", "")), name
        assert not _true(body.get("sensitive", False))
    secret = _resources("aws_secretsmanager_secret")["api_keys"]
    assert secret["kms_key_id"] == "${aws_kms_key.this.arn}"
    key = _resources("aws_kms_key")["this"]
    assert _true(key["enable_key_rotation"])
    # The instance may read that one secret and decrypt it only through Secrets Manager.
    policy = _data("aws_iam_policy_document")["bot"]
    read = next(s for s in policy["statement"] if s["sid"] == "ReadApiKeys")
    assert read["actions"] == ["secretsmanager:GetSecretValue"]
    assert read["resources"] == ["${aws_secretsmanager_secret.api_keys.arn}"]
    for statement in policy["statement"]:
        assert "*" not in statement["resources"], statement
        assert not any(a.endswith("*") for a in statement["actions"]), statement
    decrypt = next(s for s in policy["statement"] if s["sid"] == "DecryptApiKeys")
    assert _one(decrypt["condition"])["variable"] == "kms:ViaService"
    # The main.tf passes the secret's ARN to the script that reads it at every start.
    args = _templatefile_args((MODULE / "main.tf").read_text())
    assert "secret_arn" in args["bitunix-bot-env.sh.tftpl"]
    assert "aws_secretsmanager_secret.api_keys.arn" in (MODULE / "main.tf").read_text()
    env = _rendered()["env"]
    assert "aws secretsmanager get-secret-value" in env
    assert f"--secret-id '{SECRET_ARN}'" in env


def _fake_aws(tmp_path: Path, secret: str) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    aws = bin_dir / "aws"
    (tmp_path / "secret.json").write_text(secret)
    aws.write_text(f'#!/bin/sh\necho "$@" >{tmp_path}/aws-args\ncat {tmp_path}/secret.json\n')
    aws.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def _env_script(tmp_path: Path, *, force_live_trading: bool) -> Path:
    # The script as the instance runs it, its /run directory moved under tmp_path.
    script = tmp_path / "bitunix-bot-env"
    text = _rendered(force_live_trading=force_live_trading)["env"]
    script.write_text(text.replace("/run/bitunix-bot", str(tmp_path / "run")))
    script.chmod(0o755)
    return script


def test_the_key_fetcher_writes_an_owner_only_env_file(tmp_path: Path) -> None:
    env = _fake_aws(tmp_path, json.dumps({"BITUNIX_API_KEY": "k-123",
                                          "BITUNIX_API_SECRET": "s=456"}))
    result = subprocess.run([str(_env_script(tmp_path, force_live_trading=False))], env=env,
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "aws-args").read_text().split()[:5] == [
        "secretsmanager", "get-secret-value", "--region", "eu-west-1", "--secret-id"]
    out = tmp_path / "run" / "bot.env"
    assert out.read_text().splitlines() == [
        "BITUNIX_API_KEY=k-123", "BITUNIX_API_SECRET=s=456", "FORCE_LIVE_TRADING=false"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o700


def test_the_key_fetcher_refuses_a_bad_secret_without_printing_it(tmp_path: Path) -> None:
    env = _fake_aws(tmp_path, json.dumps({"BITUNIX_API_KEY": "k-123", "api_secret": "s-789"}))
    result = subprocess.run([str(_env_script(tmp_path, force_live_trading=True))], env=env,
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"secret {SECRET_ARN}: not a JSON object with BITUNIX_API_KEY and BITUNIX_API_SECRET")
    assert "k-123" not in result.stdout + result.stderr
    assert "s-789" not in result.stdout + result.stderr
    assert not (tmp_path / "run" / "bot.env").exists()


def test_the_live_switch_is_off_unless_the_variable_says_so(tmp_path: Path) -> None:
    assert not _true(_default("force_live_trading"))
    assert "FORCE_LIVE_TRADING=false" in _rendered()["env"]
    assert "FORCE_LIVE_TRADING=true" in _rendered(force_live_trading=True)["env"]


def test_nothing_comes_in_and_only_https_goes_out() -> None:
    group = _resources("aws_security_group")["bot"]
    assert "ingress" not in group
    for kind in ("aws_security_group_rule", "aws_vpc_security_group_ingress_rule"):
        assert not _resources(kind), kind
    egress = _one(group["egress"])
    assert (egress["from_port"], egress["to_port"], egress["protocol"]) == (443, 443, "tcp")
    instance = _resources("aws_instance")["bot"]
    assert not _true(instance["associate_public_ip_address"])
    # SSH is not the way in: no key pair; SSM Session Manager is.
    assert "key_name" not in instance
    attachment = _resources("aws_iam_role_policy_attachment")["ssm"]
    assert attachment["policy_arn"].endswith(":policy/AmazonSSMManagedInstanceCore")


def test_the_disk_is_encrypted_and_the_metadata_service_needs_tokens() -> None:
    instance = _resources("aws_instance")["bot"]
    disk = _one(instance["root_block_device"])
    assert _true(disk["encrypted"])
    assert disk["kms_key_id"] == "${aws_kms_key.this.arn}"
    metadata = _one(instance["metadata_options"])
    assert metadata["http_tokens"] == "required"
    assert int(metadata["http_put_response_hop_limit"]) == 1
    for group in _resources("aws_cloudwatch_log_group").values():
        assert group["kms_key_id"] == "${aws_kms_key.this.arn}"
        assert group["retention_in_days"] == "${var.log_retention_days}"


def test_the_container_runs_bitunix_bot_run_with_the_written_config(tmp_path: Path) -> None:
    rendered = _rendered()
    files = _write_files(rendered["cloud_init"])
    unit = files["/etc/systemd/system/bitunix-bot.service"]["content"]
    assert unit == rendered["unit"]
    lines = dict(line.split("=", 1) for line in unit.splitlines()
                 if "=" in line and not line.startswith("#"))
    argv = shlex.split(lines["ExecStart"])
    assert argv[:2] == ["/usr/bin/docker", "run"]
    image_at = argv.index(IMAGE)
    assert argv[image_at + 1:] == ["run", "--config", CONFIG_PATH]
    options = argv[2:image_at]
    assert options[options.index("--env-file") + 1] == ENV_FILE
    assert f"{CONFIG_PATH}:{CONFIG_PATH}:ro" in options
    assert "--network" in options
    assert options[options.index("--network") + 1] == "host"
    # The keys are fetched before every start, the container's env file removed after it.
    assert unit.splitlines().count("ExecStartPre=/usr/local/sbin/bitunix-bot-env") == 1
    assert lines["SuccessExitStatus"] == "130"
    assert lines["Restart"] == "on-failure"
    assert "--time 90" in lines["ExecStop"]
    assert ENV_FILE in lines["ExecStopPost"]
    # The config file written by cloud-init is the module's, and the bot accepts it: the
    # real exchange in dry-run, even with the live switch in the environment.
    assert files[CONFIG_PATH]["content"] == MODULE_CONFIG.read_text()
    config = load_config(MODULE_CONFIG, {}, overrides={"log.file": str(tmp_path / "bot.log")})
    assert config.venue.kind == "bitunix"
    assert resolve_mode(config, {"FORCE_LIVE_TRADING": "true"})[0] is Mode.DRY_RUN
    # The store and the log file are on volumes owned by the image's user.
    raw = tomllib.loads(MODULE_CONFIG.read_text())
    for path in (raw["store"]["path"], raw["log"]["file"]):
        directory = str(Path(path).parent)
        assert f"{directory}:{directory}" in options
    uid = re.search(r"^USER (\d+):(\d+)$", (ROOT / "Dockerfile").read_text(), re.M)
    assert uid
    runcmd = yaml.safe_load(rendered["cloud_init"])["runcmd"]
    for path in (raw["store"]["path"], raw["log"]["file"]):
        assert ["install", "-d", "-o", uid.group(1), "-g", uid.group(2), "-m",
                "0700" if "lib" in path else "0750", str(Path(path).parent)] in runcmd
    assert ["systemctl", "enable", "--now", "bitunix-bot.service"] in runcmd
    assert runcmd.index(["systemctl", "enable", "--now", "docker.service"]) < runcmd.index(
        ["systemctl", "enable", "--now", "bitunix-bot.service"])


def test_the_user_data_fits_ec2s_limit_compressed() -> None:
    instance = _resources("aws_instance")["bot"]
    assert instance["user_data_base64"] == "${base64gzip(local.user_data)}"
    assert "user_data" not in instance
    for ecr in (False, True):
        assert len(gzip.compress(_rendered(ecr=ecr)["cloud_init"].encode())) < 16384 // 2


def test_the_module_config_is_the_deploy_config_with_a_log_file() -> None:
    ours = tomllib.loads(MODULE_CONFIG.read_text())
    theirs = tomllib.loads((ROOT / "deploy" / "bitunix-bot.toml").read_text())
    assert ours.pop("log")["file"] == "/var/log/bitunix-bot/bot.log"
    theirs.pop("log")
    assert ours == theirs
    assert ours["dry_run"] is True


def test_the_scrape_reaches_the_bots_metrics_and_the_log_file_is_shipped() -> None:
    rendered = _rendered()
    files = _write_files(rendered["cloud_init"])
    scrape = yaml.safe_load(files["/opt/aws/amazon-cloudwatch-agent/etc/prometheus.yaml"]
                            ["content"])
    job = _one(scrape["scrape_configs"])
    assert job["metrics_path"] == "/metrics"
    (target,) = _one(job["static_configs"])["targets"]
    host, port = target.rsplit(":", 1)
    # The bot's [http] server, as the module's config sets it, and the variable's default.
    http = load_config(MODULE_CONFIG, {}, overrides={"log.file": ""}).http
    assert http.enabled
    assert is_loopback(host)
    assert host == http.host
    assert int(port) == http.port == DEFAULT_HTTP_PORT == _default("metrics_port")
    agent = json.loads(files["/opt/aws/amazon-cloudwatch-agent/etc/bitunix-bot.json"]
                       ["content"])
    prometheus = agent["logs"]["metrics_collected"]["prometheus"]
    assert prometheus["prometheus_config_path"] == (
        "/opt/aws/amazon-cloudwatch-agent/etc/prometheus.yaml")
    declaration = _one(prometheus["emf_processor"]["metric_declaration"])
    assert re.search(declaration["label_matcher"], job["job_name"])
    metrics_source = (ROOT / "src" / "bitunix" / "obs" / "metrics.py").read_text()
    names = set(re.findall(r'"(bitunix_[a-z_]+)"', metrics_source))
    assert len(names) > 5
    (selector_text,) = declaration["metric_selectors"]
    selector = re.compile(selector_text)
    assert all(selector.search(n) for n in names)
    # The agent tails the bot's own log file into the bot's log group.
    collected = _one(agent["logs"]["logs_collected"]["files"]["collect_list"])
    assert collected["file_path"] == tomllib.loads(MODULE_CONFIG.read_text())["log"]["file"]
    assert collected["log_group_name"] == "/bitunix-bot/bot"
    runcmd = yaml.safe_load(rendered["cloud_init"])["runcmd"]
    assert any("amazon-cloudwatch-agent-ctl" in cmd[0]
               and "file:/opt/aws/amazon-cloudwatch-agent/etc/bitunix-bot.json" in cmd
               for cmd in runcmd)
    # The agent's log groups are the module's, and the role may write only to them.
    main = (MODULE / "main.tf").read_text()
    args = _templatefile_args(main)["cloudwatch-agent.json.tftpl"]
    assert {"log_group", "metrics_log_group"} <= args
    ship = next(s for s in _data("aws_iam_policy_document")["bot"]["statement"]
                if s["sid"] == "ShipLogsAndMetrics")
    assert sorted(ship["resources"]) == ["${aws_cloudwatch_log_group.bot.arn}:*",
                                         "${aws_cloudwatch_log_group.metrics.arn}:*"]


def test_a_private_ecr_image_adds_the_credential_helper_only_when_asked() -> None:
    plain = yaml.safe_load(_rendered()["cloud_init"])
    ecr = yaml.safe_load(_rendered(ecr=True)["cloud_init"])
    assert "amazon-ecr-credential-helper" not in plain["packages"]
    assert "amazon-ecr-credential-helper" in ecr["packages"]
    assert "/root/.docker/config.json" not in _write_files(_rendered()["cloud_init"])
    docker = _write_files(_rendered(ecr=True)["cloud_init"])["/root/.docker/config.json"]
    assert json.loads(docker["content"]) == {"credsStore": "ecr-login"}


def test_templatefile_gets_exactly_the_values_each_template_uses() -> None:
    calls = _templatefile_args((MODULE / "main.tf").read_text())
    assert set(calls) == {p.name for p in TEMPLATES.glob("*.tftpl")}
    for template, keys in calls.items():
        assert keys == _placeholders(template), template


def _checkov(target: list[str]) -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `make tools` (checkov lives in .venv-tools)")
    result = subprocess.run(
        [str(CHECKOV), "--config-file", ".checkov.yaml", *target, "--output", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
        # Offline: a proxy that refuses, so any attempt to reach the network fails fast.
        env={**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
             "BC_SKIP_MAPPING": "TRUE"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert isinstance(report, dict), report
    return report


# checkov takes about 15 s here; a loaded CI machine gets the subprocess's own bound.
@pytest.mark.timeout(330)
def test_checkov_passes_the_module_with_every_skip_explained() -> None:
    report = _checkov(["--directory", "deploy/terraform"])
    assert report["check_type"] == "terraform"
    summary = report["summary"]
    assert summary["failed"] == 0
    assert summary["parsing_errors"] == 0
    assert summary["passed"] >= 50
    assert summary["resource_count"] >= 10
    for check in report["results"]["skipped_checks"]:
        assert len(check["check_result"].get("suppress_comment") or "") > 20, check["check_id"]


@pytest.mark.timeout(330)
def test_checkov_passes_the_dockerfile() -> None:
    report = _checkov(["--file", "Dockerfile"])
    assert report["check_type"] == "dockerfile"
    assert report["summary"]["failed"] == 0
    assert report["summary"]["passed"] >= 20


def test_every_skip_in_the_checkov_config_has_its_reason() -> None:
    lines = (ROOT / ".checkov.yaml").read_text().splitlines()
    skips = yaml.safe_load("\n".join(lines))["skip-check"]
    assert skips
    for check in skips:
        at = lines.index(f"  - {check}")
        assert lines[at - 1].strip().startswith("#"), check
        assert check in "\n".join(lines[at - 3:at]), f"{check}: the comment above names it"
