/* The workbench page: jobs through the REST API (/api/jobs), progress by server-sent events,
   versions kept in an undo history, the piano roll (roll.js), notation (SVG engraved by the
   server), audio rendered by the server, exports. No framework, no build step. */
"use strict";

const $ = (id) => document.getElementById(id);
const PITCH_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"];
const MODES = ["major", "minor", "dorian", "mixolydian", "lydian", "phrygian", "locrian"];
const PIECE_FILES = [["midi", "MIDI"], ["musicxml", "MusicXML"], ["abc", "ABC"], ["wav", "WAV"], ["report", "report (JSON)"]];

const state = {versions: [], current: -1, job: null, source: null, parsed: null, edited: false, selection: null};

/* ---- the client's folder on the server: a random id in a cookie (sent by fetch, <audio>, links) */
(function ensureClient() {
  if (!/(^|; )partita_client=[0-9a-f]{32}/.test(document.cookie)) {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    const id = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    document.cookie = `partita_client=${id}; path=/; max-age=31536000; SameSite=Strict`;
  }
})();

async function api(path, options = {}) {
  const r = await fetch(path, options);
  const text = await r.text();
  let data;
  try { data = text ? JSON.parse(text) : {}; } catch { data = {detail: text}; }
  if (!r.ok) throw new Error(typeof data.detail === "string" ? data.detail : `${r.status} ${r.statusText}`);
  return data;
}

function postJSON(path, body) {
  return api(path, {method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify(body)});
}

async function upload(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  return (await api("/api/uploads", {method: "POST", body: form})).id;
}

function fileUrl(jobId, name, download) {
  return `/api/jobs/${jobId}/files/${encodeURIComponent(name)}` + (download ? "?download=1" : "");
}

function showError(message) {
  const box = $("error");
  box.textContent = message || "";
  box.hidden = !message;
}

function int(id) { return parseInt($(id).value, 10); }

/* ---- jobs */

function setBusy(busy) {
  for (const id of ["generate", "abc", "theme", "accompany", "open-analyze", "open-transcribe"]) $(id).disabled = busy;
  const have = state.current >= 0;
  $("infill").disabled = busy || !have || !state.selection;
  $("continue").disabled = busy || !have;
  $("analyze").disabled = busy || !have;
  $("engine").disabled = busy;
  $("cancel").hidden = !busy;
}

function showJob(job) {
  $("progress-bar").style.width = `${Math.round((job.progress || 0) * 100)}%`;
  const box = $("job");
  box.className = `job ${job.status}`;
  const what = {queued: "waiting in the queue", running: job.message || "running", done: "done",
                failed: "failed", cancelled: "cancelled"}[job.status] || job.status;
  $("job-message").textContent = `${state.jobLabel || job.kind}: ${what}`;
}

function follow(jobId) {
  return new Promise((resolve) => {
    let finished = false;
    const end = (job) => { if (!finished) { finished = true; resolve(job); } };
    const source = new EventSource(`/api/jobs/${jobId}/events`);
    state.source = source;
    source.addEventListener("status", (e) => {
      const job = JSON.parse(e.data);
      showJob(job);
      if (["done", "failed", "cancelled"].includes(job.status)) { source.close(); end(job); }
    });
    source.onerror = async () => {   // the stream broke: poll instead
      source.close();
      while (!finished) {
        try {
          const job = await api(`/api/jobs/${jobId}`);
          showJob(job);
          if (["done", "failed", "cancelled"].includes(job.status)) { end(job); break; }
        } catch (err) { showError(err.message); end({status: "failed", error: err.message}); break; }
        await new Promise((r) => setTimeout(r, 500));
      }
    };
  });
}

async function runJob(body, label) {
  showError("");
  state.jobLabel = label;
  const bar = $("progress-bar");   // a new job's bar starts empty, not sliding down from the last one's
  bar.style.transition = "none";
  bar.style.width = "0";
  void bar.offsetWidth;
  bar.style.transition = "";
  setBusy(true);
  try {
    const queued = await postJSON("/api/jobs", body);
    state.job = queued.id;
    showJob(queued);
    const job = await follow(queued.id);
    if (job.status === "failed") showError(`${label}: ${job.error}`);
    return job.status === "done" ? job : null;
  } catch (err) {
    showError(`${label}: ${err.message}`);
    $("job").className = "job failed";
    $("job-message").textContent = `${label}: not started`;
    return null;
  } finally {
    state.job = null;
    setBusy(false);
    health();
  }
}

/* ---- versions (the undo history) */

function currentVersion() { return state.versions[state.current] || null; }

function addVersion(job, label) {
  state.versions.push({id: job.id, kind: job.kind, label, seed: job.seed, files: job.files, report: job.report,
                       audio: job.files.wav ? {job: job.id, name: job.files.wav} : null});
  showVersion(state.versions.length - 1);
}

function drawVersions() {
  const list = $("versions");
  list.innerHTML = "";
  state.versions.forEach((v, i) => {
    const li = document.createElement("li");
    if (i === state.current) li.className = "current";
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = `v${i + 1} ${v.label}`;
    b.title = `${v.kind}, seed ${v.seed ?? "-"}: click to go back to this version`;
    b.addEventListener("click", () => showVersion(i));
    li.appendChild(b);
    list.appendChild(li);
  });
  $("undo").disabled = state.current <= 0;
}

async function showVersion(i) {
  state.current = i;
  const v = currentVersion();
  drawVersions();
  setBusy(false);
  roll.clearSelection();
  drawExports(v);
  drawReport(v);
  const audio = $("audio");
  if (v.audio) { audio.src = fileUrl(v.audio.job, v.audio.name); audio.load(); } else { audio.removeAttribute("src"); }
  try {
    roll.setPiece(await api(fileUrl(v.id, v.files.roll)));
    drawLegend(roll.roll);
  } catch (err) { showError(`piano roll: ${err.message}`); }
  $("notation").innerHTML = '<p class="hint">engraving…</p>';
  try {
    const pages = (await api(`/api/jobs/${v.id}/notation`)).pages;
    if (state.current === i) $("notation").innerHTML = pages.join("\n");
  } catch (err) { $("notation").innerHTML = ""; showError(`notation: ${err.message}`); }
}

function drawLegend(data) {
  $("legend").innerHTML = data.tracks.map((t, i) =>
    `<i style="background:${t.drum ? "#667085" : roll.colour(i)}"></i>${escapeHtml(t.name || (t.drum ? "drums" : "track " + (i + 1)))}`).join("");
}

function drawExports(v) {
  const links = [];
  for (const [key, label] of PIECE_FILES) {
    const name = key === "wav" && v.audio ? v.audio.name : v.files[key];
    const job = key === "wav" && v.audio ? v.audio.job : v.id;
    if (name) links.push(`<a href="${fileUrl(job, name, true)}" download="${escapeHtml(name)}" data-export="${key}">${label}</a>`);
  }
  $("exports").innerHTML = links.length ? "Export: " + links.join("") : "";
}

function escapeHtml(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
}

function drawReport(v) {
  const r = v.report || {};
  const out = [`<p><b>${escapeHtml(v.label)}</b> · ${escapeHtml(v.kind)} · seed ${escapeHtml(v.seed ?? r.seed ?? "-")}` +
               (r.seconds !== undefined ? ` · ${r.seconds} s` : "") + "</p>"];
  if (r.fidelity) {
    out.push(`<table><tr><th>asked</th><th></th><th>measured</th><th>score</th></tr>` + r.fidelity.rows.map((row) =>
      `<tr><td>${escapeHtml(row.attribute)}: ${escapeHtml(row.asked)}</td><td>→</td><td>${escapeHtml(row.measured)}</td>` +
      `<td class="${row.score >= 1 ? "ok" : "off"}">${row.score.toFixed(2)}</td></tr>`).join("") + "</table>");
    out.push(`<p>fidelity ${r.fidelity.score.toFixed(2)}; best of ${r.candidates.length} candidates` +
             (r.musicality && r.musicality.in_band !== null ? `; ${Math.round(r.musicality.in_band * 100)}% of features typical of ${escapeHtml(r.musicality.style)}` : "") + "</p>");
    out.push("<p><b>Who wrote each part</b></p><ul>" +
             Object.entries(r.parts || {}).map(([k, w]) => `<li>${escapeHtml(k)}: ${escapeHtml(w)}</li>`).join("") + "</ul>");
    if ((r.attribute_notes || []).length) {
      out.push("<ul class='notes'>" + r.attribute_notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("") + "</ul>");
    }
  } else {
    const rows = [];
    const s = r.summary || {};
    for (const [k, val] of Object.entries(s)) rows.push([k, val]);
    for (const k of ["harmonic_support", "coverage", "added_notes", "start_seconds", "end_seconds", "seconds_added",
                     "new_notes", "theme_notes", "notes", "every"]) if (r[k] !== undefined) rows.push([k.replace(/_/g, " "), r[k]]);
    if (r.asked) rows.push(["asked", Object.entries(r.asked).map(([k, x]) => `${k} ${x}`).join(", ")]);
    if (r.check) rows.push(["check", Object.entries(r.check).filter(([, x]) => typeof x !== "object").map(([k, x]) => `${k} ${x}`).join(", ")]);
    out.push("<table>" + rows.map(([k, x]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(typeof x === "number" ? Math.round(x * 1000) / 1000 : x)}</td></tr>`).join("") + "</table>");
  }
  $("report").innerHTML = out.join("");
}

/* ---- compose: prompt -> attributes -> generate */

function fillSelect(select, options) {
  select.innerHTML = options.map(([value, label]) => `<option value="${value}">${label}</option>`).join("");
}

fillSelect($("attr-tonic"), PITCH_NAMES.map((n, i) => [i, n]));
fillSelect($("attr-mode"), MODES.map((m) => [m, m]));

async function readPrompt() {
  showError("");
  try {
    const a = await postJSON("/api/parse", {prompt: $("prompt").value, seed: int("gen-seed") || 0});
    state.parsed = a;
    state.edited = false;
    if (a.key) { $("attr-tonic").value = a.key[0]; $("attr-mode").value = a.key[1]; }
    $("attr-meter").value = a.meter ? `${a.meter[0]}/${a.meter[1]}` : "";
    $("attr-tempo").value = a.tempo ?? "";
    $("attr-bars").value = a.bars ?? "";
    $("attr-instruments").value = (a.instrument_names || []).join(", ");
    $("attr-style").value = (a.style || []).join(", ");
    $("attr-notes").innerHTML = (a.notes || []).map((n) => `<li>${escapeHtml(n)}</li>`).join("");
    $("attributes").hidden = false;
  } catch (err) { showError(`prompt: ${err.message}`); }
}

async function editedAttributes() {
  const a = state.parsed;
  const meter = $("attr-meter").value.split("/").map((x) => parseInt(x, 10));
  if (meter.length !== 2 || meter.some((x) => !(x > 0))) throw new Error(`meter ${$("attr-meter").value}: write it as 3/4`);
  let instruments = a.instruments;
  if ($("attr-instruments").value.trim() !== (a.instrument_names || []).join(", ")) {
    const names = $("attr-instruments").value.split(",").map((s) => s.trim()).filter(Boolean);
    instruments = (await postJSON("/api/parse", {prompt: "for " + names.join(" and "), fill: false})).instruments;
    if (!instruments) throw new Error(`instruments ${$("attr-instruments").value}: no instrument names recognised`);
  }
  return {key: [int("attr-tonic"), $("attr-mode").value], meter, tempo: parseFloat($("attr-tempo").value) || null,
          instruments, bars: int("attr-bars") || null, style: $("attr-style").value.split(",").map((s) => s.trim()).filter(Boolean),
          chords: a.chords, density: a.density};
}

async function generate() {
  const body = {kind: "generate", prompt: $("prompt").value, seed: int("gen-seed") || 0,
                candidates: int("gen-candidates") || 1, writer: $("gen-writer").value, render: true, engine: $("engine").value};
  try {
    if (state.parsed && state.edited) body.attributes = await editedAttributes();
    const desc = $("gen-description").files[0];
    if (desc) body.upload = await upload(desc);
  } catch (err) { showError(err.message); return; }
  const job = await runJob(body, "generate");
  if (job) addVersion(job, `generate “${body.prompt.slice(0, 24)}”`);
}

/* ---- edits on the current piece */

async function infill() {
  const v = currentVersion();
  if (!v || !state.selection) return;
  const [first, last] = state.selection;
  const seed = int("infill-seed") || 0;
  const job = await runJob({kind: "infill", source: v.id, start_bar: first, end_bar: last, seed, render: true,
                            engine: $("engine").value}, `infill bars ${first}–${last}`);
  if (job) addVersion(job, `infill ${first}–${last}`);
}

async function continuePiece() {
  const v = currentVersion();
  if (!v) return;
  const bars = int("continue-bars") || 4;
  const job = await runJob({kind: "continue", source: v.id, bars, seed: int("continue-seed") || 0, render: true,
                            engine: $("engine").value}, `continue ${bars} bars`);
  if (job) addVersion(job, `+${bars} bars`);
}

async function inputOf(fileInput, label) {
  const file = $(fileInput).files[0];
  if (file) return {upload: await upload(file)};
  const v = currentVersion();
  if (!v) throw new Error(`${label}: choose a file (or make a piece first)`);
  return {source: v.id};
}

async function accompany() {
  let input;
  try { input = await inputOf("acc-file", "accompany"); } catch (err) { showError(err.message); return; }
  const job = await runJob({kind: "accompany", ...input, instruments: $("acc-instruments").value,
                            candidates: int("acc-candidates") || 1, seed: int("acc-seed") || 0, render: true,
                            engine: $("engine").value}, "accompany");
  if (job) addVersion(job, "accompaniment");
}

async function abcTune() {
  const form = $("abc-form").value.trim();
  const job = await runJob({kind: "abc", prompt: $("abc-prompt").value, form: form || null,
                            bars_per_section: int("abc-bars") || null, seed: int("abc-seed") || 0, render: true,
                            engine: $("engine").value}, "abc tune");
  if (job) addVersion(job, `tune ${form}`);
}

async function theme() {
  let input;
  try { input = await inputOf("theme-file", "theme"); } catch (err) { showError(err.message); return; }
  const job = await runJob({kind: "theme", ...input, bars: int("theme-bars") || 16, every: int("theme-every") || 4,
                            seed: int("theme-seed") || 0, render: true, engine: $("engine").value}, "theme");
  if (job) addVersion(job, "theme");
}

async function analyse(input) {
  const job = await runJob({kind: "analyze", ...input}, "analyse");
  if (!job) return;
  const r = job.report;
  $("analysis").hidden = false;
  $("analysis").textContent = r.lines ? r.lines.join("\n")
    : `audio: ${r.seconds} s, tempo ${r.tempo || "none"} bpm, key ${r.key_name || "none"}`;
}

async function openFile(kind) {
  const file = $("open-file").files[0];
  if (!file) { showError("choose a file first"); return; }
  let id;
  try { id = await upload(file); } catch (err) { showError(err.message); return; }
  if (kind === "analyze") return analyse({upload: id});
  const job = await runJob({kind: "transcribe", upload: id, render: true, engine: $("engine").value}, "transcribe");
  if (job) addVersion(job, `transcribed ${file.name.slice(0, 16)}`);
}

async function rerender() {
  const v = currentVersion();
  if (!v) return;
  const job = await runJob({kind: "render", source: v.id, engine: $("engine").value, seed: v.seed || 0},
                           `render (${$("engine").value})`);
  if (job) {
    v.audio = {job: job.id, name: job.files.wav};
    $("audio").src = fileUrl(job.id, job.files.wav);
    $("audio").load();
    drawExports(v);
  }
}

/* ---- wiring */

const roll = new PianoRoll($("roll"), $("roll-scroll"), (first, last) => {
  state.selection = first ? [first, last] : null;
  $("selection-label").textContent = first ? (first === last ? `bar ${first} selected` : `bars ${first}–${last} selected`) : "no bars selected";
  setBusy(Boolean(state.job));
  if (first) showTab("edit");
});
roll.draw();
window.roll = roll;   // for the browser tests and the console

function showTab(name) {
  document.querySelectorAll("#tabs button").forEach((b) => b.classList.toggle("active", b.dataset.tab === name));
  document.querySelectorAll(".tab").forEach((s) => { s.hidden = s.id !== `tab-${name}`; });
}
document.querySelectorAll("#tabs button").forEach((b) => b.addEventListener("click", () => showTab(b.dataset.tab)));

$("read-prompt").addEventListener("click", readPrompt);
$("prompt").addEventListener("input", () => { state.parsed = null; $("attributes").hidden = true; });
document.querySelectorAll("#attributes input, #attributes select").forEach((el) =>
  el.addEventListener("input", () => { state.edited = true; }));
$("generate").addEventListener("click", generate);
$("infill").addEventListener("click", infill);
$("continue").addEventListener("click", continuePiece);
$("accompany").addEventListener("click", accompany);
$("abc").addEventListener("click", abcTune);
$("theme").addEventListener("click", theme);
$("analyze").addEventListener("click", () => currentVersion() && analyse({source: currentVersion().id}));
$("open-analyze").addEventListener("click", () => openFile("analyze"));
$("open-transcribe").addEventListener("click", () => openFile("transcribe"));
$("engine").addEventListener("change", rerender);
$("undo").addEventListener("click", () => state.current > 0 && showVersion(state.current - 1));
$("cancel").addEventListener("click", () => state.job && api(`/api/jobs/${state.job}`, {method: "DELETE"}).catch((e) => showError(e.message)));
$("zoom-in").addEventListener("click", () => roll.zoom(1.5));
$("zoom-out").addEventListener("click", () => roll.zoom(1 / 1.5));
$("zoom-fit").addEventListener("click", () => roll.fit());
document.addEventListener("keydown", (e) => { if (e.key === "Escape") roll.clearSelection(); });

const audio = $("audio");
let frame = null;
function tick() { roll.setPlayhead(audio.currentTime); frame = audio.paused ? null : requestAnimationFrame(tick); }
audio.addEventListener("play", () => { if (!frame) frame = requestAnimationFrame(tick); });
audio.addEventListener("seeked", () => roll.setPlayhead(audio.currentTime));

async function health() {
  try {
    const h = await api("/api/health");
    $("health").textContent = `queue: ${h.queue} / ${h.max_queue}` + (h.running ? " · a job is running" : "");
  } catch { $("health").textContent = "server not reachable"; }
}
health();
setInterval(health, 5000);
setBusy(false);
