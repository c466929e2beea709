// The signclip search page: loads the datasets, sends text or file searches to /api/search, and
// shows each result's video (from /api/items/{id}/video, a segment played from its start to its end)
// (player.js) or, when the server has no video of it, animates its skeleton (from /api/items/{id}/skeleton).
"use strict";

const COLORS = {
  body: "#5a6472",
  face: "#9aa5b1",
  left: "#d9480f",
  right: "#1d5fbf",
  other: "#2b8a3e",
};

const elements = {};
const animations = new Map(); // canvas -> {skeleton, start}
let paused = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
let searchNumber = 0;

function $(id) {
  return document.getElementById(id);
}

function componentColor(name) {
  const lower = name.toLowerCase();
  if (lower.includes("left")) return COLORS.left;
  if (lower.includes("right")) return COLORS.right;
  if (lower.includes("face")) return COLORS.face;
  if (lower.includes("pose") || lower.includes("body")) return COLORS.body;
  return COLORS.other;
}

function setStatus(message, isError = false) {
  elements.status.textContent = message;
  elements.status.classList.toggle("error", isError);
}

async function fetchJson(url, options = {}) {
  const response = await fetch(url, options);
  let body = null;
  try {
    body = await response.json();
  } catch (error) {
    body = null;
  }
  if (!response.ok) {
    let detail = body && body.detail ? body.detail : `${response.status} ${response.statusText}`;
    if (body && body.models && body.models.length) detail += ` (models of this dataset: ${body.models.join(", ")})`;
    throw new Error(detail);
  }
  return body;
}

// ---------------------------------------------------------------------------- drawing

function sizeCanvas(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
  const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
}

function drawSkeleton(canvas, skeleton, frameIndex) {
  sizeCanvas(canvas);
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  const frame = skeleton.frames[frameIndex];
  if (!frame) return;
  const padding = 0.06 * Math.min(width, height);
  const scale = Math.min((width - 2 * padding) / skeleton.width, (height - 2 * padding) / skeleton.height);
  const offsetX = (width - skeleton.width * scale) / 2;
  const offsetY = (height - skeleton.height * scale) / 2;
  const lineWidth = Math.max(1, Math.min(width, height) / 110);
  const point = (index) => {
    const x = frame[2 * index];
    const y = frame[2 * index + 1];
    if (x === null || y === null) return null;
    return [offsetX + x * scale, offsetY + y * scale];
  };
  for (const component of skeleton.components) {
    const color = componentColor(component.name);
    const isFace = component.name.toLowerCase().includes("face");
    context.strokeStyle = color;
    context.fillStyle = color;
    context.lineWidth = isFace ? lineWidth * 0.6 : lineWidth;
    context.lineCap = "round";
    context.beginPath();
    for (const [a, b] of component.limbs) {
      const from = point(component.start + a);
      const to = point(component.start + b);
      if (from && to) {
        context.moveTo(from[0], from[1]);
        context.lineTo(to[0], to[1]);
      }
    }
    context.stroke();
    if (!isFace) {
      for (let i = 0; i < component.count; i++) {
        const p = point(component.start + i);
        if (p) {
          context.beginPath();
          context.arc(p[0], p[1], lineWidth * 0.9, 0, 2 * Math.PI);
          context.fill();
        }
      }
    }
  }
}

function frameAt(skeleton, start, now) {
  const count = skeleton.frames.length;
  if (paused) return Math.floor(count / 2);
  const elapsed = (now - start) / 1000;
  return Math.floor(elapsed * (skeleton.fps || 25)) % count;
}

function animate(now) {
  for (const [canvas, animation] of animations) {
    if (!canvas.isConnected) {
      animations.delete(canvas);
      continue;
    }
    const index = frameAt(animation.skeleton, animation.start, now);
    if (index !== animation.drawn || canvas.width !== Math.round(canvas.clientWidth * (window.devicePixelRatio || 1))) {
      drawSkeleton(canvas, animation.skeleton, index);
      animation.drawn = index;
    }
  }
  window.requestAnimationFrame(animate);
}

function showSkeleton(canvas, skeleton) {
  animations.set(canvas, { skeleton, start: performance.now(), drawn: -1 });
  drawSkeleton(canvas, skeleton, frameAt(skeleton, performance.now(), performance.now()));
}

function setPaused(value) {
  paused = value;
  elements.motion.setAttribute("aria-pressed", String(paused));
  elements.motion.textContent = paused ? "Play animations" : "Pause animations";
  for (const animation of animations.values()) animation.drawn = -1;
}

// ---------------------------------------------------------------------------- datasets and models

async function loadDatasets() {
  try {
    const { datasets } = await fetchJson("/api/datasets");
    elements.dataset.replaceChildren();
    for (const dataset of datasets) {
      const option = document.createElement("option");
      option.value = dataset.name;
      option.textContent = `${dataset.name} (${dataset.items} items)`;
      elements.dataset.append(option);
    }
    elements.datasetHint.textContent = datasets.length
      ? `${datasets.length} dataset${datasets.length === 1 ? "" : "s"} indexed.`
      : "No dataset is indexed yet: index one first (see the README).";
  } catch (error) {
    elements.datasetHint.textContent = `Could not load the datasets: ${error.message}`;
  }
}

// Say plainly when a loaded model has random weights: its rankings look confident and mean nothing.
function showUntrainedBanner(models) {
  const untrained = models.filter((model) => model.trained === false).map((model) => model.name);
  if (!untrained.length) return;
  elements.modelWarning.textContent =
    `The model ${untrained.join(", ")} is untrained (random weights): its results carry no meaning. ` +
    "Train a model (signclip train) or convert an original SignCLIP checkpoint (signclip convert-mmpt), " +
    "then restart the server with --model pointing at it.";
  elements.modelWarning.hidden = false;
}

async function loadModels() {
  try {
    const { models } = await fetchJson("/api/models");
    showUntrainedBanner(models);
    if (models.length < 2) return;
    const automatic = document.createElement("option");
    automatic.value = "";
    automatic.textContent = "The dataset's model";
    elements.model.append(automatic);
    for (const model of models) {
      const option = document.createElement("option");
      option.value = model.name;
      option.textContent = model.default ? `${model.name} (default)` : model.name;
      elements.model.append(option);
    }
    elements.modelField.hidden = false;
  } catch (error) {
    // A single default model needs no selector.
  }
}

// ---------------------------------------------------------------------------- searching

function searchSettings() {
  const dataset = elements.dataset.value;
  if (!dataset) throw new Error("Choose a dataset first (none is indexed yet?).");
  const k = Number.parseInt(elements.k.value, 10);
  if (!Number.isInteger(k) || k < 1) throw new Error("Results must be a whole number of at least 1.");
  const settings = { dataset, k };
  if (!elements.modelField.hidden && elements.model.value) settings.model_name = elements.model.value;
  return settings;
}

async function runSearch(describe, makeRequest, button) {
  const number = ++searchNumber;
  button.disabled = true;
  elements.results.setAttribute("aria-busy", "true");
  setStatus(`Searching for ${describe}…`);
  try {
    const response = await makeRequest();
    if (number !== searchNumber) return;
    renderQuery(response.query);
    renderResults(response, describe);
  } catch (error) {
    if (number === searchNumber) setStatus(`Search failed: ${error.message}`, true);
  } finally {
    button.disabled = false;
    elements.results.removeAttribute("aria-busy");
  }
}

// The checked search settings, or null after telling the person what is missing (focusing that field).
function checkedSettings(given, missing, field) {
  if (!given) {
    setStatus(missing, true);
    field.focus();
    return null;
  }
  try {
    return searchSettings();
  } catch (error) {
    setStatus(error.message, true);
    return null;
  }
}

function searchByText(event) {
  event.preventDefault();
  const text = elements.text.value.trim();
  const button = event.submitter || elements.textForm.querySelector("button");
  const settings = checkedSettings(text, "Type a word or phrase to search for.", elements.text);
  if (!settings) return;
  runSearch(`“${text}”`, () => fetchJson("/api/search", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ...settings, text }),
  }), button);
}

function searchByFile(event) {
  event.preventDefault();
  const file = elements.file.files[0];
  const button = event.submitter || elements.fileForm.querySelector("button");
  const settings = checkedSettings(file, "Choose a video or .pose file to search with.", elements.file);
  if (!settings) return;
  const form = new FormData();
  for (const [key, value] of Object.entries(settings)) form.append(key, String(value));
  form.append("include_query_skeleton", "true");
  if (elements.rerank.value) form.append("rerank", elements.rerank.value);
  form.append(file.name.toLowerCase().endsWith(".pose") ? "pose" : "video", file, file.name);
  runSearch(file.name, () => fetchJson("/api/search", { method: "POST", body: form }), button);
}

function renderQuery(query) {
  if (!query.skeleton) {
    elements.query.hidden = true;
    return;
  }
  elements.query.hidden = false;
  elements.queryCaption.textContent = `${query.kind === "video" ? "Pose extracted from your video" : "Your pose"}: ${query.frames} frames.`;
  showSkeleton(elements.queryCanvas, query.skeleton);
}

function describeItem(item) {
  return item.gloss || item.text || item.key;
}

function renderResults(response, describe) {
  const list = elements.results;
  list.replaceChildren();
  const results = response.results;
  for (const hit of results) list.append(resultCard(hit));
  const prompt = response.query.prompt && response.query.prompt !== response.query.text ? ` (prompt ${response.query.prompt})` : "";
  if (!results.length) {
    setStatus(`No results for ${describe}${prompt} in ${response.dataset}.`);
    return;
  }
  const best = results[0];
  const weak = response.strong_matches === 0
    ? " No strong matches: no result stands out from the rest of the dataset for this query."
    : "";
  const reranked = response.reranked ? ` ${response.reranked.summary[0].toUpperCase()}${response.reranked.summary.slice(1)}.` : "";
  setStatus(
    `${results.length} result${results.length === 1 ? "" : "s"} for ${describe}${prompt}. ` +
    `Best: ${describeItem(best)}${best.signer ? ` by ${best.signer}` : ""}, score ${best.score.toFixed(3)}.${weak}${reranked}`
  );
}

function addDetail(list, term, value) {
  if (value === null || value === undefined || value === "") return;
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  dd.textContent = value;
  list.append(dt, dd);
}

function resultCard(hit) {
  const item = document.createElement("li");
  item.className = hit.relevance.strong ? "result strong" : "result";
  const title = document.createElement("h3");
  title.className = "result-title";
  const rank = document.createElement("span");
  rank.className = "rank";
  rank.textContent = `${hit.rank}.`;
  const gloss = document.createElement("span");
  gloss.className = "gloss";
  gloss.textContent = describeItem(hit);
  title.append(rank, gloss);
  if (isSegment(hit)) {
    const time = document.createElement("span");
    time.className = "time-range";
    time.textContent = timeRange(hit);
    title.append(" ", time);
  }

  const canvas = document.createElement("canvas");
  canvas.className = "skeleton";
  canvas.width = 200;
  canvas.height = 200;
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", `Animated skeleton of ${describeItem(hit)}${hit.signer ? ` by ${hit.signer}` : ""}`);

  const details = document.createElement("dl");
  addDetail(details, "Signer", hit.signer);
  addDetail(details, "Score", hit.score.toFixed(3));
  if (hit.dtw_distance !== null && hit.dtw_distance !== undefined) addDetail(details, "DTW distance", hit.dtw_distance.toFixed(3));
  addDetail(details, "Match", hit.relevance.strong ? "strong" : "weak");
  if (hit.text && hit.text.toLowerCase() !== (hit.gloss || "").toLowerCase()) addDetail(details, "Text", hit.text);
  addDetail(details, "Language", hit.signed_language);

  item.append(title, hit.video_url ? resultVideo(hit) : canvas, details);
  if (hit.has_pose) {
    const link = document.createElement("a");
    link.href = hit.pose_url;
    link.textContent = "Download .pose";
    link.setAttribute("download", `${hit.key || hit.item_id}.pose`);
    link.setAttribute("aria-label", `Download the pose of result ${hit.rank}, ${describeItem(hit)}`);
    item.append(link);
    if (hit.video_url) return item;
    fetchJson(hit.skeleton_url)
      .then((skeleton) => showSkeleton(canvas, skeleton))
      .catch((error) => canvas.setAttribute("aria-label", `No skeleton: ${error.message}`));
  }
  return item;
}

function start() {
  for (const [key, id] of Object.entries({
    dataset: "dataset", datasetHint: "dataset-hint", k: "k", model: "model", modelField: "model-field",
    textForm: "text-form", text: "text", fileForm: "file-form", file: "file", status: "status",
    query: "query", queryCanvas: "query-canvas", queryCaption: "query-caption", results: "results",
    motion: "motion", modelWarning: "model-warning", rerank: "rerank",
  })) {
    elements[key] = $(id);
  }
  elements.textForm.addEventListener("submit", searchByText);
  elements.fileForm.addEventListener("submit", searchByFile);
  elements.motion.addEventListener("click", () => setPaused(!paused));
  setPaused(paused);
  loadDatasets();
  loadModels();
  window.requestAnimationFrame(animate);
}

document.addEventListener("DOMContentLoaded", start);
