#!/usr/bin/env python3
"""Turn CustomResourceDefinitions into strict JSON schemas for kubeconform.

Usage: crd2schema.py OUT_DIR CRD.yaml... [--kinds Kind,Kind,...]

For every served version of every CRD in the files (multi-document YAML), writes
OUT_DIR/<group>/<kind lowercased>_<version>.json, which matches kubeconform's
-schema-location template  OUT_DIR/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json

The conversion follows what the API server accepts from a structural schema:
- apiVersion and kind are pinned to the CRD's group/version and kind, metadata is an object;
- every `type: object` node that declares neither additionalProperties nor
  x-kubernetes-preserve-unknown-fields gets additionalProperties: false (the API server
  would prune unknown fields silently: here they are errors, which is what "strict" means);
- x-kubernetes-int-or-string becomes integer|string, nullable adds null to the type;
- x-kubernetes-embedded-resource objects also accept apiVersion, kind and metadata.
With --kinds only the named kinds are written (an unknown name is an error).
"""
import copy
import json
import os
import sys

import yaml


def convert(node, top=False):
    """Return a strict JSON-schema copy of an OpenAPI v3 (structural) schema node."""
    if isinstance(node, list):
        return [convert(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties", "definitions", "$defs"):
            out[key] = {k: convert(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not", "additionalItems"):
            out[key] = convert(value) if isinstance(value, (dict, list)) else value
        elif key in ("allOf", "anyOf", "oneOf"):
            # Branches of a structural schema only constrain properties declared beside them:
            # convert their inner nodes, but never close the branch itself.
            out[key] = [convert_branch(x) for x in value]
        else:
            out[key] = copy.deepcopy(value)

    if out.get("x-kubernetes-int-or-string"):
        if "anyOf" not in out:
            out.pop("type", None)
            out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.get("nullable") is True and "type" in out:
        t = out["type"]
        out["type"] = (t if isinstance(t, list) else [t]) + ["null"]
    if out.get("x-kubernetes-embedded-resource"):
        props = out.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        props.setdefault("metadata", {"type": "object"})
    if (
        out.get("type") == "object"
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
        and not top  # the top level is closed by the caller, after fixing metadata
    ):
        out["additionalProperties"] = False
    return out


def convert_branch(node):
    if not isinstance(node, dict):
        return node
    if "type" in node:
        # A structural schema never types a branch; a complete typed schema (a discriminated union
        # generated from a model, see StrimziCrds.java) is converted, and closed, like any node.
        return convert(node)
    out = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {k: convert(v) for k, v in value.items()}
        elif key in ("items", "not", "additionalProperties") and isinstance(value, dict):
            out[key] = convert(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [convert_branch(x) for x in value]
        else:
            out[key] = copy.deepcopy(value)
    return out


def schema_for(crd, version):
    spec = crd["spec"]
    group, kind = spec["group"], spec["names"]["kind"]
    raw = (version.get("schema") or {}).get("openAPIV3Schema")
    if raw is None:
        # apiextensions v1 requires a schema per version; an old CRD may carry one spec-wide.
        raw = (spec.get("validation") or {}).get("openAPIV3Schema")
    if raw is None:
        raise ValueError(f"{kind} {group}/{version['name']}: the CRD has no openAPIV3Schema")
    schema = convert(raw, top=True)
    props = schema.setdefault("properties", {})
    props["apiVersion"] = {"type": "string", "enum": [f"{group}/{version['name']}"]}
    props["kind"] = {"type": "string", "enum": [kind]}
    # ObjectMeta is validated by the API server itself; the CRD declares it as a bare object.
    props["metadata"] = {"type": "object"}
    schema["type"] = "object"
    if not raw.get("x-kubernetes-preserve-unknown-fields"):
        schema["additionalProperties"] = False
    schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind"})
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    schema.pop("description", None)
    schema["description"] = (
        f"{kind} ({group}/{version['name']}), converted from the CRD {crd['metadata']['name']} "
        "by deploy/validate.d/crd2schema.py"
    )
    return group, kind, schema


def main(argv):
    kinds = None
    args = []
    it = iter(argv)
    for a in it:
        if a == "--kinds":
            kinds = {k for k in next(it).split(",") if k}
        else:
            args.append(a)
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out_dir, files = args[0], args[1:]
    written, seen = [], set()
    for path in files:
        with open(path, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        for doc in docs:
            if doc.get("kind") != "CustomResourceDefinition":
                continue
            kind = doc["spec"]["names"]["kind"]
            if kinds is not None and kind not in kinds:
                continue
            seen.add(kind)
            for version in doc["spec"].get("versions", []):
                if not version.get("served", True):
                    continue
                group, kind, schema = schema_for(doc, version)
                target = os.path.join(out_dir, group, f"{kind.lower()}_{version['name']}.json")
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "w", encoding="utf-8") as f:
                    json.dump(schema, f, indent=1, sort_keys=True)
                written.append(f"{group}/{kind}/{version['name']}")
    if kinds is not None and kinds - seen:
        print(f"crd2schema: no CRD for {', '.join(sorted(kinds - seen))} in {' '.join(files)}", file=sys.stderr)
        return 1
    print(f"crd2schema: {len(written)} schemas: {', '.join(written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
