#!/usr/bin/env python3
"""Chart <-> server consistency: every environment variable the chart sets on a container of the
todo image is one the server reads, and every subcommand it runs exists.

Usage:
  chart_config.py --help-text FILE --image REPO MANIFEST.yaml...   (FILE: `todo-server --help`)
  chart_config.py --help-text FILE --values VALUES.yaml[,PROFILE.yaml...] MANIFEST.yaml...
                  (REPO: image.repository of the last values file that sets it)
  chart_config.py --self-test

The server's truth is its --help: the subcommands are the "Commands:" section's lines
("  api    REST API ..."), the environment variables the "Environment variables:" section's lines
("  NAME   description", NAME like [A-Z][A-Z0-9_]+). A container runs the todo image when its image
is REPO, REPO:tag or REPO@digest. Its subcommand is args[0] (the image's entrypoint is todo-server),
or the word after todo-server when the container sets a command. Env names come from env[].name
and from envFrom ConfigMaps/Secrets, which must be among the rendered manifests.
"""
import re
import sys

import yaml

ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]+$")


class HelpError(Exception):
    pass


def parse_help(text):
    """Return (subcommands, env_names) from `todo-server --help`."""
    commands, env = set(), set()
    section = None
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line.startswith(" "):
            head = line.strip()
            section = {"Commands:": "commands", "Environment variables:": "env"}.get(head)
            continue
        if section is None or not line.startswith("  ") or line.startswith("   "):
            continue  # wrapped description lines are indented deeper
        word = line.split()[0]
        if section == "commands":
            if word != "help":
                commands.add(word)
        elif section == "env" and ENV_NAME.match(word):
            env.add(word)
    if not commands:
        raise HelpError("todo-server --help lists no subcommands (no 'Commands:' section)")
    if not env:
        raise HelpError("todo-server --help lists no environment variables "
                        "(no 'Environment variables:' section with '  NAME  description' lines)")
    return commands, env


def pod_specs(doc):
    """Yield (where, podSpec) for every pod template in a manifest."""
    kind = doc.get("kind", "")
    name = (doc.get("metadata") or {}).get("name", "?")
    spec = doc.get("spec") or {}
    if kind == "Pod":
        yield f"Pod/{name}", spec
    elif kind == "CronJob":
        t = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
        yield f"CronJob/{name}", t.get("spec") or {}
    elif isinstance(spec.get("template"), dict) and "spec" in spec["template"] and kind in (
        "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"
    ):
        yield f"{kind}/{name}", spec["template"]["spec"] or {}


def runs_image(image, repo):
    return image == repo or image.startswith(repo + ":") or image.startswith(repo + "@")


def check(docs, commands, env_names, repo):
    """Return (errors, notes) for the rendered manifests `docs`."""
    errors, notes = [], []
    config_keys = {}
    for d in docs:
        kind, meta = d.get("kind"), d.get("metadata") or {}
        if kind == "ConfigMap":
            config_keys[("configMap", meta.get("name"))] = set(d.get("data") or {}) | set(d.get("binaryData") or {})
        elif kind == "Secret":
            config_keys[("secret", meta.get("name"))] = set(d.get("data") or {}) | set(d.get("stringData") or {})
    containers = 0
    for d in docs:
        for where, spec in pod_specs(d):
            for section in ("initContainers", "containers"):
                for c in spec.get(section) or []:
                    if not runs_image(str(c.get("image", "")), repo):
                        continue
                    containers += 1
                    at = f"{where} {section[:-1]} {c.get('name')}"
                    command, args = c.get("command") or [], c.get("args") or []
                    if command:
                        if not str(command[0]).endswith("todo-server"):
                            errors.append(f"{at}: runs {command[0]!r}, not todo-server")
                            continue
                        argv = list(command[1:]) + list(args)
                    else:
                        argv = list(args)
                    if not argv:
                        errors.append(f"{at}: runs todo-server without a subcommand")
                    elif argv[0] not in commands:
                        errors.append(f"{at}: runs subcommand {argv[0]!r}, which todo-server does not have "
                                      f"(it has: {', '.join(sorted(commands))})")
                    else:
                        notes.append(f"{at}: todo-server {argv[0]}")
                    for e in c.get("env") or []:
                        n = e.get("name")
                        if n not in env_names:
                            errors.append(f"{at}: sets env {n}, which todo-server does not read")
                    for ef in c.get("envFrom") or []:
                        for ref_kind in ("configMap", "secret"):
                            ref = ef.get(ref_kind + "Ref")
                            if not ref:
                                continue
                            keys = config_keys.get((ref_kind, ref.get("name")))
                            if keys is None:
                                if ref.get("optional"):
                                    notes.append(f"{at}: envFrom {ref_kind} {ref.get('name')} (optional, "
                                                 "not rendered: its keys are not checked)")
                                else:
                                    errors.append(f"{at}: envFrom {ref_kind} {ref.get('name')} is not among the "
                                                  "rendered manifests, so its variables cannot be checked")
                                continue
                            prefix = ef.get("prefix", "")
                            for k in sorted(keys):
                                if prefix + k not in env_names:
                                    errors.append(f"{at}: sets env {prefix + k} (envFrom {ref_kind} "
                                                  f"{ref.get('name')}), which todo-server does not read")
    if containers == 0:
        errors.append(f"no container runs the todo image {repo!r}")
    return errors, notes


def load_docs(paths):
    docs = []
    for p in paths:
        with open(p, encoding="utf-8") as f:
            docs.extend(d for d in yaml.safe_load_all(f) if isinstance(d, dict))
    return docs


def run(help_file, repo, manifests):
    with open(help_file, encoding="utf-8") as f:
        text = f.read()
    try:
        commands, env_names = parse_help(text)
    except HelpError as e:
        print(f"chart_config: FAIL: {e}")
        return 1
    errors, notes = check(load_docs(manifests), commands, env_names, repo)
    for n in notes:
        print(f"  ok   {n}")
    for e in errors:
        print(f"  FAIL {e}")
    print(f"chart_config: {'FAIL' if errors else 'ok'}: {len(notes)} containers of {repo} checked against "
          f"{len(commands)} subcommands and {len(env_names)} environment variables; {len(errors)} problems")
    return 1 if errors else 0


SELF_TEST_HELP = """\
Usage: todo-server [COMMAND]

Commands:
  api      REST API
  migrate  Applies the migrations
  help     Print this message

Options:
  -h, --help  Print help

Environment variables:
  TODO_ADDR      where to listen
  DATABASE_URL   postgres://...
               a wrapped line that is no variable
"""

SELF_TEST_MANIFEST = """
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {TODO_ADDR: "0.0.0.0:8080", TODO_BOGUS_FROM_CM: "1"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  template:
    spec:
      initContainers:
      - name: migrate
        image: example.org/todo:1
        args: [migrate]
        env: [{name: DATABASE_URL, value: x}]
      containers:
      - name: app
        image: example.org/todo@sha256:0
        args: [api]
        env: [{name: TODO_ADDR, value: x}, {name: TODO_BOGUS, value: x}]
        envFrom: [{configMapRef: {name: cfg}}]
      - name: worker
        image: example.org/todo:1
        command: [/usr/local/bin/todo-server, serve]
      - name: sidecar
        image: example.org/other:1
        env: [{name: ANYTHING_GOES, value: x}]
"""


def self_test():
    """Prove the checker catches what it should, on a synthetic help text and manifest."""
    commands, env_names = parse_help(SELF_TEST_HELP)
    assert commands == {"api", "migrate"}, commands
    assert env_names == {"TODO_ADDR", "DATABASE_URL"}, env_names
    errors, notes = check(list(yaml.safe_load_all(SELF_TEST_MANIFEST)), commands, env_names, "example.org/todo")
    joined = "\n".join(errors)
    expected = ["sets env TODO_BOGUS,", "sets env TODO_BOGUS_FROM_CM (envFrom", "runs subcommand 'serve'"]
    missing = [e for e in expected if e not in joined]
    unexpected = [e for e in errors if not any(x in e for x in expected)]
    no_env = SELF_TEST_HELP.split("Environment variables:")[0]
    try:
        parse_help(no_env)
        missing.append("a --help without an environment section must fail")
    except HelpError as e:
        assert "lists no environment variables" in str(e)
    if missing or unexpected or len(notes) != 2:
        print(f"chart_config self-test: FAIL: missed {missing}, unexpected {unexpected}, notes {notes}")
        return 1
    print(f"chart_config self-test: ok (caught {len(errors)} planted problems: bad env, bad envFrom key, "
          "bad subcommand; a --help without environment variables fails)")
    return 0


def main(argv):
    if argv == ["--self-test"]:
        return self_test()
    help_file = repo = None
    manifests = []
    it = iter(argv)
    for a in it:
        if a == "--help-text":
            help_file = next(it)
        elif a == "--image":
            repo = next(it)
        elif a == "--values":
            for vf in next(it).split(","):
                with open(vf, encoding="utf-8") as f:
                    values = yaml.safe_load(f) or {}
                repo = ((values.get("image") or {}).get("repository")) or repo
            if not repo:
                print("chart_config: FAIL: no image.repository in the values files")
                return 1
        else:
            manifests.append(a)
    if not help_file or not repo or not manifests:
        print(__doc__, file=sys.stderr)
        return 2
    return run(help_file, repo, manifests)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
