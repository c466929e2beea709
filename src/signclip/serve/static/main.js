// The signclip search page: loads the datasets and the server's models, sends text, file and webcam searches
// to /api/search, shows the results (results.js), opens a hit's recording (recording.js), films a query
// (recorder.js) and downloads the hits as CSV or ELAN (/api/export).
import { downloadFile, fetchJson } from "./api.js";
import { Recorder } from "./recorder.js";
import { RecordingView } from "./recording.js";
import { handleResultKeys, renderResults } from "./results.js";
import { Animations } from "./skeleton.js";

const $ = (id) => document.getElementById(id);

class SearchPage {
  constructor() {
    this.datasets = new Map(); // name -> {items, embeddings: {model: count}}
    this.served = []; // the server's models, default first
    this.searchNumber = 0;
    this.last = null; // {query, hits} of the results shown
    this.animations = new Animations(window.matchMedia("(prefers-reduced-motion: reduce)").matches);
    this.recordingView = new RecordingView(
      {
        dialog: $("recording-view"), title: $("recording-title"), summary: $("recording-summary"),
        media: $("recording-media"), timeline: $("timeline"), labels: $("timeline-labels"),
        now: $("recording-now"), close: $("recording-close"),
      },
      this.animations,
    );
    this.recorder = new Recorder(
      {
        panel: $("record-panel"), cameraOpen: $("camera-open"), cameraClose: $("camera-close"), recorder: $("recorder"),
        preview: $("camera-preview"), countdown: $("countdown"), recorderStatus: $("recorder-status"),
        recordStart: $("record-start"), recordStop: $("record-stop"), recordSearch: $("record-search"),
        recordRetake: $("record-retake"),
      },
      (file, button) => this.searchWithFile(file, "your recording", button),
    );
    $("text-form").addEventListener("submit", (event) => this.searchByText(event));
    $("file-form").addEventListener("submit", (event) => this.searchByFile(event));
    $("dataset").addEventListener("change", () => this.showModels());
    $("motion").addEventListener("click", () => this.toggleAnimations());
    $("download-csv").addEventListener("click", () => this.download("csv"));
    $("download-eaf").addEventListener("click", () => this.download("eaf"));
    handleResultKeys($("results"), this);
    this.setPaused(this.animations.paused);
    Promise.all([this.loadDatasets(), this.loadModels()]).then(() => this.showModels());
  }

  setStatus(message, isError = false) {
    $("status").textContent = message;
    $("status").classList.toggle("error", isError);
  }

  setPaused(paused) {
    this.animations.setPaused(paused);
    $("motion").setAttribute("aria-pressed", String(paused));
    $("motion").textContent = paused ? "Play animations" : "Pause animations";
  }

  toggleAnimations() {
    this.setPaused(!this.animations.paused);
  }

  async loadDatasets() {
    try {
      const { datasets } = await fetchJson("/api/datasets");
      $("dataset").replaceChildren();
      for (const dataset of datasets) {
        this.datasets.set(dataset.name, dataset);
        const option = document.createElement("option");
        option.value = dataset.name;
        option.textContent = `${dataset.name} (${dataset.items} items)`;
        $("dataset").append(option);
      }
      $("dataset-hint").textContent = datasets.length
        ? `${datasets.length} dataset${datasets.length === 1 ? "" : "s"} indexed.`
        : "No dataset is indexed yet: index one first (see the README).";
    } catch (error) {
      $("dataset-hint").textContent = `Could not load the datasets: ${error.message}`;
    }
  }

  async loadModels() {
    try {
      this.served = (await fetchJson("/api/models")).models;
    } catch (error) {
      this.served = [];
      return;
    }
    const untrained = this.served.filter((model) => model.trained === false).map((model) => model.name);
    if (!untrained.length) return;
    $("model-warning").textContent =
      `The model ${untrained.join(", ")} is untrained (random weights): its results carry no meaning. ` +
      "Train a model (signclip train) or convert an original SignCLIP checkpoint (signclip convert-mmpt), " +
      "then restart the server with --model pointing at it.";
    $("model-warning").hidden = false;
  }

  // The Model menu lists the chosen dataset's models that this server has loaded (shown for two or more);
  // the hint says when the server has none of them.
  showModels() {
    const dataset = this.datasets.get($("dataset").value);
    const menu = $("model");
    menu.replaceChildren();
    $("model-field").hidden = true;
    if (!dataset) return;
    const indexed = Object.keys(dataset.embeddings || {});
    const servable = this.served.filter((model) => indexed.includes(model.name));
    for (const model of servable) {
      const option = document.createElement("option");
      option.value = model.name;
      option.textContent = `${model.name} (${dataset.embeddings[model.name]} items)`;
      menu.append(option);
    }
    $("model-field").hidden = servable.length < 2;
    const hint = $("dataset-hint");
    if (indexed.length && !servable.length) {
      hint.textContent =
        `This server has none of ${dataset.name}'s models (${indexed.join(", ")}): restart it with one of them ` +
        "(signclip serve --model DIRECTORY).";
    } else {
      hint.textContent = `${this.datasets.size} dataset${this.datasets.size === 1 ? "" : "s"} indexed.`;
    }
  }

  settings() {
    const dataset = $("dataset").value;
    if (!dataset) throw new Error("Choose a dataset first (none is indexed yet?).");
    const k = Number.parseInt($("k").value, 10);
    if (!Number.isInteger(k) || k < 1) throw new Error("Results must be a whole number of at least 1.");
    const settings = { dataset, k };
    if (!$("model-field").hidden && $("model").value) settings.model_name = $("model").value;
    return settings;
  }

  // The checked search settings, or null after saying what is missing (focusing that field).
  checkedSettings(given, missing, field) {
    if (!given) {
      this.setStatus(missing, true);
      field.focus();
      return null;
    }
    try {
      return this.settings();
    } catch (error) {
      this.setStatus(error.message, true);
      return null;
    }
  }

  async run(describe, query, makeRequest, button) {
    const number = ++this.searchNumber;
    button.disabled = true;
    $("results").setAttribute("aria-busy", "true");
    this.setStatus(`Searching for ${describe}…`);
    try {
      const response = await makeRequest();
      if (number !== this.searchNumber) return;
      this.renderQuery(response.query);
      this.setStatus(renderResults($("results"), response, describe, this));
      this.last = { query, hits: response.results };
      for (const id of ["download-csv", "download-eaf"]) $(id).disabled = !response.results.length;
    } catch (error) {
      if (number === this.searchNumber) this.setStatus(`Search failed: ${error.message}`, true);
    } finally {
      button.disabled = false;
      $("results").removeAttribute("aria-busy");
    }
  }

  searchByText(event) {
    event.preventDefault();
    const text = $("text").value.trim();
    const button = event.submitter || $("text-form").querySelector("button");
    const settings = this.checkedSettings(text, "Type a word or phrase to search for.", $("text"));
    if (!settings) return;
    const menuShown = !$("model-field").hidden;
    this.run(`“${text}”`, text, () => fetchJson("/api/search", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ...settings, text }),
      menuShown,
    }), button);
  }

  searchByFile(event) {
    event.preventDefault();
    const file = $("file").files[0];
    const button = event.submitter || $("file-form").querySelector("button");
    if (!file) {
      this.setStatus("Choose a video or .pose file to search with.", true);
      $("file").focus();
      return;
    }
    this.searchWithFile(file, file.name, button);
  }

  searchWithFile(file, describe, button) {
    const settings = this.checkedSettings(file, "Record or choose a video to search with.", $("file"));
    if (!settings) return;
    const form = new FormData();
    for (const [key, value] of Object.entries(settings)) form.append(key, String(value));
    form.append("include_query_skeleton", "true");
    if ($("rerank").value) form.append("rerank", $("rerank").value);
    form.append(file.name.toLowerCase().endsWith(".pose") ? "pose" : "video", file, file.name);
    const menuShown = !$("model-field").hidden;
    const request = () => fetchJson("/api/search", { method: "POST", body: form, menuShown });
    this.run(describe, `example ${file.name}`, request, button);
  }

  renderQuery(query) {
    if (!query.skeleton) {
      $("query").hidden = true;
      return;
    }
    $("query").hidden = false;
    const source = query.kind === "video" ? "Pose extracted from your video" : "Your pose";
    $("query-caption").textContent = `${source}: ${query.frames} frames.`;
    this.animations.show($("query-canvas"), query.skeleton);
  }

  openRecording(hit) {
    this.recordingView.open(hit, this.last ? this.last.hits : [hit]);
  }

  async download(format) {
    if (!this.last || !this.last.hits.length) return;
    const hits = this.last.hits.map((hit) => ({ item_id: hit.item_id, score: hit.score }));
    try {
      const name = await downloadFile("/api/export", { format, query: this.last.query, hits });
      this.setStatus(`Downloaded ${name}: ${hits.length} result${hits.length === 1 ? "" : "s"} as ${format === "csv" ? "CSV" : "ELAN"}.`);
    } catch (error) {
      this.setStatus(`Download failed: ${error.message}`, true);
    }
  }
}

document.addEventListener("DOMContentLoaded", () => new SearchPage());
