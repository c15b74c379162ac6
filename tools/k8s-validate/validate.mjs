#!/usr/bin/env node
// Validates every Kubernetes object in the given YAML files against the published schemas, with models
// someone else generated from them: kubernetes-models (the Kubernetes OpenAPI), @kubernetes-models/keda,
// @kubernetes-models/prometheus-operator and @kubernetes-models/gateway-api (the projects' CRDs).
//
//   node validate.mjs FILE.yaml [FILE.yaml ...]
//
// Exit code 0 when every object is valid; 1 with one line per problem otherwise; 2 on a usage error.
import { readFile } from "node:fs/promises";
import { parseAllDocuments } from "yaml";

// API groups whose schemas come from a CRD package; every other group is Kubernetes' own.
const crdPackages = new Map([
  ["keda.sh", "@kubernetes-models/keda"],
  ["monitoring.coreos.com", "@kubernetes-models/prometheus-operator"],
  ["gateway.networking.k8s.io", "@kubernetes-models/gateway-api"],
]);

function modelModule(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const crdPackage = crdPackages.get(group);
  if (crdPackage) {
    return `${crdPackage}/${group}/${version}/${kind}`;
  }
  return group === "" ? `kubernetes-models/${version}/${kind}` : `kubernetes-models/${group}/${version}/${kind}`;
}

async function loadModel(apiVersion, kind) {
  const path = modelModule(apiVersion, kind);
  try {
    const module = await import(path);
    return module[kind];
  } catch (error) {
    if (error?.code === "ERR_MODULE_NOT_FOUND" || error?.code === "ERR_PACKAGE_PATH_NOT_EXPORTED") {
      return undefined;
    }
    throw error;
  }
}

function describe(object) {
  const name = object?.metadata?.name ?? "(no name)";
  return `${object?.kind ?? "(no kind)"}/${name}`;
}

async function validateObject(object) {
  const problems = [];
  if (typeof object !== "object" || object === null || Array.isArray(object)) {
    return ["is not a mapping"];
  }
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    return ["has no apiVersion and kind"];
  }
  if (typeof object.metadata?.name !== "string" || object.metadata.name.length === 0) {
    problems.push("metadata.name is missing");
  }
  const Model = await loadModel(apiVersion, kind);
  if (!Model) {
    problems.push(`${apiVersion} ${kind} has no schema here (known: Kubernetes' own groups, ${[...crdPackages.keys()].join(", ")})`);
    return problems;
  }
  try {
    new Model(object).validate();
  } catch (error) {
    const details = Array.isArray(error?.errors) && error.errors.length > 0
      ? error.errors.map((e) => `${e.instancePath || "/"} ${e.message}${e.params?.allowedValues ? ` (${e.params.allowedValues.join(", ")})` : ""}`)
      : [String(error?.message ?? error)];
    problems.push(...details);
  }
  return problems;
}

async function main(files) {
  if (files.length === 0) {
    console.error("usage: node validate.mjs FILE.yaml [FILE.yaml ...]");
    return 2;
  }
  let objects = 0;
  let failures = 0;
  for (const file of files) {
    const text = await readFile(file, "utf8");
    const documents = parseAllDocuments(text, { uniqueKeys: true });
    for (const [index, document] of documents.entries()) {
      const where = `${file} (document ${index + 1})`;
      if (document.errors.length > 0) {
        failures++;
        for (const error of document.errors) {
          console.error(`${where}: YAML: ${error.message}`);
        }
        continue;
      }
      const object = document.toJS();
      if (object === null || object === undefined) {
        continue;
      }
      objects++;
      for (const problem of await validateObject(object)) {
        failures++;
        console.error(`${where} ${describe(object)}: ${problem}`);
      }
    }
  }
  if (failures > 0) {
    console.error(`${failures} problem(s) in ${objects} object(s)`);
    return 1;
  }
  console.log(`${objects} object(s) valid`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
