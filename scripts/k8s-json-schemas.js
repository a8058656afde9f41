#!/usr/bin/env node
// Turns the Kubernetes OpenAPI v2 document (api/openapi-spec/swagger.json of the k8s.io/kubernetes Go
// module) and CustomResourceDefinitions (JSON) into the JSON Schema files kubeconform reads, so manifests
// are validated offline against the real API schemas (scripts/check-deploy.sh).
//
//   node scripts/k8s-json-schemas.js --swagger swagger.json [--crd crd.json ...] --out DIR
//
// Writes DIR/_definitions.json (every definition of the spec) and one DIR/<kind>-<group>-<version>.json
// per API kind (kubeconform's `{{ .ResourceKind }}{{ .KindSuffix }}.json`; the group is its first
// dot-separated label, core kinds have none: deployment-apps-v1.json, service-v1.json,
// servicemonitor-monitoring-v1.json). A kind file refers to _definitions.json by a relative $ref.
//
// The schemas are strict: an object that declares its properties accepts no others (a misspelt or
// misplaced field is an error, as kubectl's server-side field validation would report it). Optional
// values may be null (the API server treats null as unset). int-or-string fields take an integer or
// a string, resource quantities a number or a string. Node built-ins only.
'use strict';
const { readFileSync, writeFileSync, mkdirSync } = require('node:fs');
const { join } = require('node:path');

function parseArgs(argv) {
  const args = { crd: [] };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--swagger') args.swagger = value;
    else if (flag === '--crd') args.crd.push(value);
    else if (flag === '--out') args.out = value;
    else throw new Error(`unknown argument ${flag}`);
    i += 1;
  }
  if (!args.swagger || !args.out) throw new Error('usage: k8s-json-schemas.js --swagger FILE [--crd FILE...] --out DIR');
  return args;
}

const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';

const withNull = (type) => (Array.isArray(type) ? (type.includes('null') ? type : [...type, 'null']) : [type, 'null']);

/**
 * Rewrites one schema node in place (and everything below it): nullable types, strict objects,
 * int-or-string, and refs pointing into the definitions file. Extension keywords (x-kubernetes-*) are
 * dropped: validators ignore them and they only make the files bigger.
 */
function rewrite(node, refPrefix) {
  if (Array.isArray(node)) return node.map((n) => rewrite(n, refPrefix));
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('x-kubernetes-') || key === 'nullable') continue;
    if (key === 'properties' || key === 'patternProperties' || key === 'definitions') {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, s]) => [name, rewrite(s, refPrefix)]));
    } else if (key === 'items' || key === 'not') {
      out[key] = rewrite(value, refPrefix);
    } else if (key === 'additionalProperties') {
      out[key] = typeof value === 'boolean' ? value : rewrite(value, refPrefix);
    } else if (key === 'allOf' || key === 'anyOf' || key === 'oneOf') {
      out[key] = value.map((s) => rewrite(s, refPrefix));
    } else if (key === '$ref') {
      out[key] = value.startsWith('#/definitions/') ? refPrefix + value.slice(1) : value;
    } else {
      out[key] = value;
    }
  }
  const intOrString = node.format === 'int-or-string' || node['x-kubernetes-int-or-string'] === true;
  if (intOrString) {
    delete out.type;
    delete out.format;
    delete out.anyOf; // CRDs spell it anyOf [integer, string] next to the extension
    out.type = ['integer', 'string', 'null'];
  } else if (out.type !== undefined) {
    out.type = withNull(out.type);
  }
  const preserveUnknown = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (out.properties && out.additionalProperties === undefined && !preserveUnknown) out.additionalProperties = false;
  return out;
}

function kindFileName(group, version, kind) {
  const groupLabel = group ? `-${group.split('.')[0].toLowerCase()}` : '';
  return `${kind.toLowerCase()}${groupLabel}-${version.toLowerCase()}.json`;
}

/** The kind file: the definition's own schema, apiVersion and kind pinned, refs into _definitions.json. */
function kindSchema(def, gvk, refPrefix) {
  const schema = rewrite(def, refPrefix);
  const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
  schema.properties = {
    ...schema.properties,
    apiVersion: { type: 'string', enum: [apiVersion] },
    kind: { type: 'string', enum: [gvk.kind] },
  };
  schema.required = [...new Set([...(schema.required ?? []), 'apiVersion', 'kind'])];
  schema.type = 'object';
  return { $schema: 'http://json-schema.org/draft-04/schema#', ...schema };
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const swagger = JSON.parse(readFileSync(args.swagger, 'utf8'));
  const definitions = { ...swagger.definitions };
  // Quantities are written as numbers too (`cpu: 1`), which the API accepts.
  definitions[QUANTITY] = { ...definitions[QUANTITY], type: ['string', 'number'] };
  definitions[INT_OR_STRING] = { ...definitions[INT_OR_STRING], format: 'int-or-string' };

  mkdirSync(args.out, { recursive: true });
  const shared = rewrite({ definitions }, '#');
  writeFileSync(join(args.out, '_definitions.json'), JSON.stringify({ $schema: 'http://json-schema.org/draft-04/schema#', ...shared }));

  const files = new Map();
  for (const def of Object.values(swagger.definitions)) {
    for (const gvk of def['x-kubernetes-group-version-kind'] ?? []) {
      const name = kindFileName(gvk.group, gvk.version, gvk.kind);
      // Several definitions may carry the same kind (meta/v1 DeleteOptions in every group): the first one
      // that is the kind's own type wins; they are identical in shape anyway.
      if (!files.has(name)) files.set(name, kindSchema(def, gvk, '_definitions.json#'));
    }
  }
  for (const path of args.crd) {
    const crd = JSON.parse(readFileSync(path, 'utf8'));
    if (crd.kind !== 'CustomResourceDefinition') throw new Error(`${path}: not a CustomResourceDefinition`);
    for (const version of crd.spec.versions) {
      const gvk = { group: crd.spec.group, version: version.name, kind: crd.spec.names.kind };
      const open = version.schema?.openAPIV3Schema;
      if (!open) throw new Error(`${path}: version ${version.name} has no openAPIV3Schema`);
      const withMeta = {
        ...open,
        properties: { ...open.properties, metadata: { $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' } },
      };
      files.set(kindFileName(gvk.group, gvk.version, gvk.kind), kindSchema(withMeta, gvk, '_definitions.json#'));
    }
  }
  for (const [name, schema] of files) writeFileSync(join(args.out, name), JSON.stringify(schema));
  process.stdout.write(`wrote ${files.size} kind schemas and _definitions.json to ${args.out}\n`);
}

try {
  main();
} catch (e) {
  process.stderr.write(`k8s-json-schemas: ${e.message}\n`);
  process.exit(1);
}
