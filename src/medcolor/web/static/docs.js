// Renders /openapi.json as a readable list of endpoints, without external assets
// (FastAPI's default /docs loads Swagger UI from a CDN).
"use strict";

const el = (tag, attrs, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) if (c != null) node.append(c);
  return node;
};

function resolve(spec, schema) {
  if (schema && schema.$ref) return resolve(spec, schema.$ref.split("/").slice(1).reduce((o, k) => o[k], spec));
  return schema || {};
}

function typeOf(spec, schema) {
  schema = resolve(spec, schema);
  if (schema.anyOf) return schema.anyOf.map((s) => typeOf(spec, s)).join(" | ");
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (schema.format === "binary" || schema.contentMediaType) return "file";
  let t = schema.type || "object";
  if (schema.minimum != null || schema.maximum != null) t += ` [${schema.minimum ?? ""}..${schema.maximum ?? ""}]`;
  return t;
}

function fieldsTable(spec, schema) {
  schema = resolve(spec, schema);
  const table = el("table", { class: "fields" },
    el("thead", {}, el("tr", {}, el("th", {}, "field"), el("th", {}, "type"), el("th", {}, "default"),
                       el("th", {}, "description"))));
  const body = el("tbody");
  const required = new Set(schema.required || []);
  for (const [name, prop] of Object.entries(schema.properties || {})) {
    const p = resolve(spec, prop);
    body.append(el("tr", {}, el("td", {}, el("code", {}, name), required.has(name) ? " (required)" : ""),
                   el("td", {}, typeOf(spec, p)), el("td", {}, p.default === undefined ? "" : JSON.stringify(p.default)),
                   el("td", {}, p.description || "")));
  }
  table.append(body);
  return table;
}

function endpoint(spec, path, method, op) {
  const section = el("section", { class: "endpoint" },
    el("h2", {}, el("code", {}, `${method.toUpperCase()} ${path}`)), el("p", {}, op.summary || ""));
  if (op.description) section.append(el("p", { class: "hint" }, op.description));
  const content = (op.requestBody || {}).content || {};
  for (const [type, media] of Object.entries(content)) {
    section.append(el("h3", {}, `Request body (${type})`), fieldsTable(spec, media.schema));
  }
  const responses = el("ul");
  for (const [code, r] of Object.entries(op.responses || {})) {
    const types = Object.keys(r.content || {}).join(", ");
    responses.append(el("li", {}, el("code", {}, code), ` ${r.description || ""}${types ? ` (${types})` : ""}`));
  }
  section.append(el("h3", {}, "Responses"), responses);
  return section;
}

async function main() {
  const root = document.getElementById("endpoints");
  try {
    const spec = await (await fetch("/openapi.json")).json();
    document.getElementById("title").textContent = `${spec.info.title} API ${spec.info.version}`;
    root.replaceChildren(el("p", {}, spec.info.description || ""),
      el("p", {}, "Errors are JSON ", el("code", {}, '{"error": "..."}'),
         ": 413 too large, 415 unsupported file type (checked by content), 400/422 bad parameter, 503 busy."),
      el("pre", {}, `curl -F file=@chest.dcm -F window=lung -o chest_color.png ${location.origin}/api/colorize`));
    for (const [path, ops] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(ops)) root.append(endpoint(spec, path, method, op));
    }
  } catch (err) {
    root.replaceChildren(el("p", { role: "alert" }, `cannot load /openapi.json: ${err.message}`));
  }
}

document.addEventListener("DOMContentLoaded", main);
