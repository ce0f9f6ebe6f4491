#!/usr/bin/env python3
"""Validates CycloneDX JSON SBOMs against the CycloneDX 1.6 JSON schema, offline: the schemas come from the
cyclonedx-core-java jar that cyclonedx-maven-plugin itself uses (in the local Maven repository).

  validate_cyclonedx.py CYCLONEDX_CORE_JAVA_JAR BOM.json...     (exit 1 when any BOM is invalid)
"""
import json, sys, zipfile
import jsonschema
from referencing import Registry, Resource
jar, *boms = sys.argv[1:]
z = zipfile.ZipFile(jar)
schemas = {n: json.loads(z.read(n)) for n in ("bom-1.6.schema.json", "spdx.schema.json", "jsf-0.82.schema.json")}
registry = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in schemas.values())
validator = jsonschema.Draft7Validator(schemas["bom-1.6.schema.json"], registry=registry)
bad = 0
for path in boms:
    errors = sorted(validator.iter_errors(json.load(open(path))), key=lambda e: list(e.path))
    for e in errors[:5]:
        print(f"{path}: {'/'.join(map(str, e.path))}: {e.message[:200]}")
    bad += bool(errors)
    if not errors:
        print(f"{path}: valid CycloneDX 1.6")
sys.exit(1 if bad else 0)
