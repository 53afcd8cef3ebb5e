#!/usr/bin/env python3
"""Rewrite the Kubernetes JSON schemas that PyPI's kubernetes-validate bundles for kubeconform.

Usage: k8s_schemas.py KUBERNETES_VERSION OUT_DIR      (e.g. 1.33.0 ~/.cache/todo/tools/schemas/...)

kubernetes-validate ships, per Kubernetes version, one strict schema per kind
(<kind>-<group>-<version>.json, kubeconform's {{ .ResourceKind }}{{ .KindSuffix }} naming) whose
$refs point at an absolute URL "/api/_definitions.json#/$defs/...". kubeconform resolves $refs
relative to the schema file, so this writes OUT_DIR/v<version>-standalone-strict/ with the refs made
relative ("_definitions.json#/$defs/...") and the $id dropped, ready for
  -schema-location 'OUT_DIR/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json'
"""
import json
import os
import sys

import kubernetes_validate

REMOTE_DEFS = "/api/_definitions.json#"


def rewrite(node):
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith(REMOTE_DEFS):
                out[k] = "_definitions.json#" + v[len(REMOTE_DEFS):]
            elif k == "$id":
                continue
            else:
                out[k] = rewrite(v)
        return out
    if isinstance(node, list):
        return [rewrite(x) for x in node]
    return node


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    version, out_root = argv
    version = version.lstrip("v")
    base = os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema")
    src = os.path.join(base, f"v{version}-local-strict")
    if not os.path.isdir(src):
        have = sorted(d for d in os.listdir(base) if d.endswith("-local-strict"))
        print(f"k8s_schemas: kubernetes-validate has no schemas for {version} (it has: {' '.join(have)})",
              file=sys.stderr)
        return 1
    dst = os.path.join(out_root, f"v{version}-standalone-strict")
    os.makedirs(dst, exist_ok=True)
    n = 0
    for name in sorted(os.listdir(src)):
        if not name.endswith(".json") or name == "all.json":
            continue
        with open(os.path.join(src, name), encoding="utf-8") as f:
            doc = json.load(f)
        with open(os.path.join(dst, name), "w", encoding="utf-8") as f:
            json.dump(rewrite(doc), f, separators=(",", ":"))
        n += 1
    if not os.path.isfile(os.path.join(dst, "_definitions.json")):
        print("k8s_schemas: _definitions.json is missing from kubernetes-validate", file=sys.stderr)
        return 1
    print(f"k8s_schemas: {n} schemas for Kubernetes {version} in {dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
