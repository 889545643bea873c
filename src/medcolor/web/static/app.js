// medcolor web page: upload, preview, colorize, before/after, hint painting, downloads.
// Plain JavaScript, no libraries; talks only to this server's /api.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  file: null,         // the File the user chose
  format: null,       // input format detected by the server (png, jpeg, dicom, nifti ...)
  hasHints: false,    // something is painted on the hint canvas
  busy: false,
  resultUrl: null,
  previewUrl: null,
  confidenceUrl: null,
  lastHints: false,   // the last colorization used the painted hints
  confidenceFresh: false,  // the confidence overlay belongs to the current result
};

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

function setStatus(text) { $("status").textContent = text; }

function setBusy(busy) {
  state.busy = busy;
  document.body.setAttribute("aria-busy", busy ? "true" : "false");
  $("run").disabled = busy || !state.file;
  $("rerun").disabled = busy || !state.file || !state.hasHints;
  $("dl-dcm").disabled = busy || state.format !== "dicom";
}

// An error answer is JSON {"error": "..."}; anything else is shown by status code.
async function errorText(response) {
  try {
    const body = await response.json();
    if (body && body.error) return body.error;
  } catch (e) { /* not JSON */ }
  return `request failed: HTTP ${response.status}`;
}

function formData(extra) {
  const fd = new FormData();
  fd.append("file", state.file, state.file.name);
  const win = $("window").value;
  if (win && !$("window").disabled) fd.append("window", win);
  for (const [k, v] of Object.entries(extra || {})) fd.append(k, v);
  return fd;
}

async function post(path, fd) {
  const response = await fetch(path, { method: "POST", body: fd });
  if (!response.ok) throw new Error(await errorText(response));
  return response;
}

function replaceUrl(key, blob) {
  if (state[key]) URL.revokeObjectURL(state[key]);
  state[key] = URL.createObjectURL(blob);
  return state[key];
}

function loadImage(img, url) {
  return new Promise((resolve, reject) => {
    img.onload = () => resolve();
    img.onerror = () => reject(new Error("the browser could not display the answer"));
    img.src = url;
  });
}

// ---- preview: the gray frame exactly as the network sees it (after windowing)
async function runPreview() {
  const response = await post("/api/preview", formData());
  state.format = response.headers.get("X-Medcolor-Format");
  const w = +response.headers.get("X-Medcolor-Width");
  const h = +response.headers.get("X-Medcolor-Height");
  const frames = +response.headers.get("X-Medcolor-Frames");
  const frame = +response.headers.get("X-Medcolor-Frame");
  const url = replaceUrl("previewUrl", await response.blob());
  await Promise.all([loadImage($("input-img"), url), loadImage($("before-img"), url)]);
  const canvas = $("hint-canvas");
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w; canvas.height = h;  // hints are painted at the image's own size
    clearHints();
  }
  const volume = state.format === "dicom" || state.format === "nifti";
  $("window").disabled = !volume;
  $("input-info").textContent = `${state.format}, ${w}×${h}` +
    (frames > 1 ? `, frame ${frame + 1} of ${frames} shown` : "");
}

// The fields of a colorize request; empty working size: the model's own.
async function colorizeForm(withHints, extra = {}) {
  const fields = { model: $("model").value, ...extra };
  if ($("working-size").value) fields.working_size = $("working-size").value;
  const fd = formData(fields);
  if (withHints && state.hasHints) fd.append("hints", await canvasBlob(), "hints.png");
  return fd;
}

// The confidence overlay: the model's confidence map of the same frame (same model, hints and size).
async function runConfidence() {
  const img = $("confidence-img");
  img.removeAttribute("data-ready");
  const response = await post("/api/colorize", await colorizeForm(state.lastHints, { confidence: "true" }));
  await loadImage(img, replaceUrl("confidenceUrl", await response.blob()));
  img.dataset.ready = "1";  // the browser test waits for this
  state.confidenceFresh = true;
}

async function showConfidence() {
  const on = $("show-confidence").checked;
  $("confidence-img").hidden = !on;
  $("confidence-help").hidden = !on;
  if (!on || state.confidenceFresh || !state.file || state.busy) return;
  showError("");
  setBusy(true);
  try {
    setStatus("Computing the confidence map…");
    await runConfidence();
    setStatus("Confidence shown: white where the model is sure of the colour, dark where it guesses.");
  } catch (err) {
    setStatus("");
    $("show-confidence").checked = false;
    $("confidence-img").hidden = true;
    showError(err.message);
  } finally {
    setBusy(false);
  }
}

async function runColorize(withHints) {
  state.lastHints = withHints;
  state.confidenceFresh = false;
  const response = await post("/api/colorize", await colorizeForm(withHints));
  const url = replaceUrl("resultUrl", await response.blob());
  const img = $("result-img");
  img.removeAttribute("data-ready");
  await loadImage(img, url);
  img.dataset.ready = "1";  // the browser test waits for this
  const link = $("dl-png");
  link.href = url;
  link.download = stem(state.file.name) + "_color.png";
  link.classList.remove("disabled");
  link.setAttribute("aria-disabled", "false");
  const secs = response.headers.get("X-Medcolor-Seconds");
  $("result-info").textContent = `model ${response.headers.get("X-Medcolor-Model")}` +
    (secs ? `, ${(+secs).toFixed(2)} s` : "");
}

function stem(name) { return name.replace(/(\.nii)?\.[^.]*$/i, "") || "medcolor"; }

// One user action: preview (when needed) then colorize; errors shown, never thrown.
async function process({ preview = true, hints = false } = {}) {
  if (!state.file || state.busy) return;
  showError("");
  setBusy(true);
  try {
    if (preview) { setStatus("Reading the image…"); await runPreview(); }
    setStatus(hints ? "Colorizing with your hints…" : "Colorizing…");
    await runColorize(hints);
    if ($("show-confidence").checked) await runConfidence();
    setStatus("Done. Drag the slider to compare; paint hints on the input to steer the colours.");
  } catch (err) {
    setStatus("");
    showError(err.message);
  } finally {
    setBusy(false);
  }
}

async function downloadDicom() {
  if (!state.file || state.busy) return;
  showError("");
  setBusy(true);
  setStatus("Colorizing every frame for the DICOM download…");
  try {
    const fd = await colorizeForm(true, { format: "dcm" });
    const blob = await (await post("/api/colorize", fd)).blob();
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = stem(state.file.name) + "_color.dcm";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    setStatus("DICOM downloaded.");
  } catch (err) {
    setStatus("");
    showError(err.message);
  } finally {
    setBusy(false);
  }
}

// ---- hint painting
function canvasBlob() {
  return new Promise((resolve) => $("hint-canvas").toBlob(resolve, "image/png"));
}

function clearHints() {
  const c = $("hint-canvas");
  c.getContext("2d").clearRect(0, 0, c.width, c.height);
  state.hasHints = false;
  setBusy(state.busy);
}

function setupPainting() {
  const canvas = $("hint-canvas");
  const ctx = canvas.getContext("2d");
  let last = null;
  const point = (ev) => {
    const r = canvas.getBoundingClientRect();
    return [(ev.clientX - r.left) * canvas.width / r.width, (ev.clientY - r.top) * canvas.height / r.height];
  };
  const stroke = (from, to) => {
    const scale = canvas.width / canvas.getBoundingClientRect().width;
    ctx.strokeStyle = $("hint-color").value;
    ctx.lineWidth = +$("brush").value * scale;
    ctx.lineCap = "round";
    ctx.beginPath();
    ctx.moveTo(...from);
    ctx.lineTo(...to);
    ctx.stroke();
  };
  canvas.addEventListener("pointerdown", (ev) => {
    if (!state.file) return;
    canvas.setPointerCapture(ev.pointerId);
    last = point(ev);
    stroke(last, last);
    state.hasHints = true;
    setBusy(state.busy);
  });
  canvas.addEventListener("pointermove", (ev) => {
    if (!last) return;
    const p = point(ev);
    stroke(last, p);
    last = p;
  });
  const end = () => { last = null; };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
}

// ---- file choice: picker, drag and drop, keyboard
function choose(file) {
  if (!file) return;
  state.file = file;
  state.format = null;
  clearHints();
  $("result-info").textContent = "";
  process({ preview: true });
}

function setupFileInputs() {
  $("file").addEventListener("change", (ev) => choose(ev.target.files[0]));
  const drop = $("drop");
  drop.addEventListener("keydown", (ev) => {
    if (ev.target === drop && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); $("file").click(); }
  });
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (ev) => { ev.preventDefault(); drop.classList.add("over"); });
  }
  for (const type of ["dragleave", "drop"]) {
    drop.addEventListener(type, () => drop.classList.remove("over"));
  }
  drop.addEventListener("drop", (ev) => {
    ev.preventDefault();
    if (ev.dataTransfer.files.length) choose(ev.dataTransfer.files[0]);
  });
}

function setupSlider() {
  const apply = () => {
    const v = +$("slider").value;
    $("result-img").style.clipPath = `inset(0 ${100 - v}% 0 0)`;
    $("divider").style.left = `${v}%`;
  };
  $("slider").addEventListener("input", apply);
  apply();
}

async function loadOptions() {
  const get = async (path) => {
    const r = await fetch(path);
    if (!r.ok) throw new Error(await errorText(r));
    return r.json();
  };
  try {
    const [health, models, windows] = await Promise.all([get("/api/health"), get("/api/models"),
                                                         get("/api/windows")]);
    const select = $("model");
    for (const name of models.models) select.add(new Option(name, name, false, name === models.default));
    for (const [name, w] of Object.entries(windows.presets)) {
      $("window").add(new Option(`${name} (C ${w.center}, W ${w.width})`, name));
    }
    const size = $("working-size");
    size.min = health.limits.min_working_size;
    size.max = health.limits.max_working_size;
    if (typeof health.limits.working_size === "number") size.value = health.limits.working_size;
  } catch (err) {
    showError(`cannot reach the server: ${err.message}`);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setupFileInputs();
  setupSlider();
  setupPainting();
  $("run").addEventListener("click", () => process({ preview: true, hints: state.hasHints }));
  $("rerun").addEventListener("click", () => process({ preview: false, hints: true }));
  $("clear-hints").addEventListener("click", clearHints);
  $("model").addEventListener("change", () => process({ preview: false, hints: state.hasHints }));
  $("window").addEventListener("change", () => process({ preview: true, hints: state.hasHints }));
  $("dl-dcm").addEventListener("click", downloadDicom);
  $("show-confidence").addEventListener("change", showConfidence);
  loadOptions();
});
