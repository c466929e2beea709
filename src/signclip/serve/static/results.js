// The ranked results: one card per hit (its video from the segment's start, or its animated skeleton), the
// status line that sums them up, and the keyboard: arrows move through the cards, Enter opens a card's
// recording, Space plays its video (or pauses and plays the animations).
import { fetchJson } from "./api.js";
import { describeItem, isSegment, resultVideo, timeRange } from "./player.js";
import { skeletonCanvas } from "./skeleton.js";

function addDetail(list, term, value) {
  if (value === null || value === undefined || value === "") return;
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  dd.textContent = value;
  list.append(dt, dd);
}

// What the Match detail says: strong or weak against the dataset's scores, or that there is no cue.
export function matchWord(relevance) {
  if (relevance.undefined) return "no cue";
  return relevance.strong ? "strong" : "weak";
}

function cardTitle(hit) {
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
    title.append(time);
  }
  return title;
}

function cardDetails(hit) {
  const details = document.createElement("dl");
  addDetail(details, "Signer", hit.signer);
  addDetail(details, "Score", hit.score.toFixed(3));
  if (hit.dtw_distance !== null && hit.dtw_distance !== undefined) addDetail(details, "DTW distance", hit.dtw_distance.toFixed(3));
  addDetail(details, "Match", matchWord(hit.relevance));
  if (hit.text && hit.text.toLowerCase() !== (hit.gloss || "").toLowerCase()) addDetail(details, "Text", hit.text);
  addDetail(details, "Language", hit.signed_language);
  return details;
}

// One result card; `page.animations` draws its skeleton, `page.openRecording(hit)` opens its recording.
function resultCard(hit, page) {
  const item = document.createElement("li");
  item.className = hit.relevance.strong ? "result strong" : "result";
  item.tabIndex = -1;
  item.hit = hit;
  const label = `${describeItem(hit)}${hit.signer ? ` by ${hit.signer}` : ""}`;
  item.setAttribute("aria-label", `Result ${hit.rank}: ${label}${isSegment(hit) ? `, ${timeRange(hit)}` : ""}`);
  const canvas = hit.video_url ? null : skeletonCanvas(`Animated skeleton of ${label}`);
  item.append(cardTitle(hit), hit.video_url ? resultVideo(hit) : canvas, cardDetails(hit));

  const actions = document.createElement("div");
  actions.className = "result-actions";
  const open = document.createElement("button");
  open.type = "button";
  open.className = "secondary small";
  open.textContent = "Recording";
  open.setAttribute("aria-label", `Open the recording of result ${hit.rank}, ${describeItem(hit)}`);
  open.addEventListener("click", () => page.openRecording(hit));
  actions.append(open);
  if (hit.has_pose) {
    const link = document.createElement("a");
    link.href = hit.pose_url;
    link.textContent = "Download .pose";
    link.setAttribute("download", `${hit.key || hit.item_id}.pose`);
    link.setAttribute("aria-label", `Download the pose of result ${hit.rank}, ${describeItem(hit)}`);
    actions.append(link);
  }
  item.append(actions);
  if (canvas && hit.has_pose) {
    fetchJson(hit.skeleton_url)
      .then((skeleton) => page.animations.show(canvas, skeleton))
      .catch((error) => canvas.setAttribute("aria-label", `No skeleton: ${error.message}`));
  }
  return item;
}

function statusLine(response, describe) {
  const results = response.results;
  const prompt = response.query.prompt && response.query.prompt !== response.query.text ? ` (prompt ${response.query.prompt})` : "";
  if (!results.length) return `No results for ${describe}${prompt} in ${response.dataset}: ${response.empty_reason}.`;
  const best = results[0];
  let cue = "";
  if (response.cue_undefined) cue = ` No relevance cue: ${response.cue_undefined}.`;
  else if (response.strong_matches === 0) cue = " No strong matches: no result stands out from the rest of the dataset for this query.";
  const summary = response.reranked ? response.reranked.summary : "";
  const reranked = summary ? ` ${summary[0].toUpperCase()}${summary.slice(1)}.` : "";
  return (
    `${results.length} result${results.length === 1 ? "" : "s"} for ${describe}${prompt}. ` +
    `Best: ${describeItem(best)}${best.signer ? ` by ${best.signer}` : ""}, score ${best.score.toFixed(3)}.${cue}${reranked}`
  );
}

// Replace the result list with the cards of `response`; returns the status line to show.
export function renderResults(list, response, describe, page) {
  list.replaceChildren(...response.results.map((hit) => resultCard(hit, page)));
  const first = list.querySelector(".result");
  if (first) first.tabIndex = 0;
  return statusLine(response, describe);
}

function moveFocus(list, card, step) {
  const cards = [...list.querySelectorAll(".result")];
  const next = cards[Math.min(cards.length - 1, Math.max(0, cards.indexOf(card) + step))];
  if (!next) return;
  for (const other of cards) other.tabIndex = other === next ? 0 : -1;
  next.focus();
}

// Arrow keys move between cards (one tab stop for the list), Enter opens the focused card's recording,
// Space plays its video or pauses and plays the animations; keys on the card's own controls are theirs.
export function handleResultKeys(list, page) {
  list.addEventListener("keydown", (event) => {
    const card = event.target.closest(".result");
    if (!card || event.target !== card) return;
    const steps = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1, Home: -1e9, End: 1e9 };
    if (event.key in steps) {
      event.preventDefault();
      moveFocus(list, card, steps[event.key]);
    } else if (event.key === "Enter") {
      event.preventDefault();
      page.openRecording(card.hit);
    } else if (event.key === " ") {
      event.preventDefault();
      const video = card.querySelector("video");
      if (video && video.paused) video.play().catch(() => {});
      else if (video) video.pause();
      else page.toggleAnimations();
    }
  });
  list.addEventListener("focusin", (event) => {
    const card = event.target.closest(".result");
    if (!card) return;
    for (const other of list.querySelectorAll(".result")) other.tabIndex = other === card ? 0 : -1;
  });
}
