// The recording view: a hit opens its whole recording (GET /api/items/{id}/recording) in a dialog with the
// video (or the skeleton of a pose-only recording) and a timeline of every indexed segment, one row per
// level (sign, sentence), the current query's hits marked. Click a segment, or move with the arrow keys
// (left/right in a row, up/down between rows) and press Enter or Space, to play it.
import { fetchJson } from "./api.js";
import { SegmentPlayer, clock, describeItem, timeRange } from "./player.js";
import { skeletonCanvas } from "./skeleton.js";

const PIXELS_PER_SECOND = 60; // the least a long recording's timeline gives a second (it scrolls)
const LEVEL_NAMES = { sign: "Signs", sentence: "Sentences", segment: "Segments", whole: "Whole recording" };

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export class RecordingView {
  constructor(elements, animations) {
    this.elements = elements; // dialog, title, summary, media, timeline, labels, now, close
    this.animations = animations;
    this.player = null;
    this.returnFocus = null;
    elements.close.addEventListener("click", () => elements.dialog.close());
    elements.dialog.addEventListener("close", () => this.closed());
    elements.timeline.addEventListener("keydown", (event) => this.keydown(event));
  }

  // Open the recording of `hit`; `hits` (the current results) are marked on the timeline.
  async open(hit, hits) {
    const e = this.elements;
    this.returnFocus = document.activeElement;
    e.title.textContent = "Recording";
    e.summary.textContent = "Loading the recording…";
    e.media.replaceChildren();
    e.timeline.replaceChildren();
    e.labels.replaceChildren();
    if (!e.dialog.open) e.dialog.showModal();
    let recording;
    try {
      recording = await fetchJson(`/api/items/${hit.item_id}/recording`);
    } catch (error) {
      e.summary.textContent = `Could not open the recording: ${error.message}`;
      return;
    }
    this.recording = recording;
    this.ranks = new Map(hits.map((h) => [h.item_id, h.rank]));
    e.title.textContent = `Recording ${recording.name}`;
    const count = recording.levels.reduce((sum, level) => sum + level.items.length, 0);
    const marked = [...this.ranks.keys()].filter((id) => recording.levels.some((l) => l.items.some((i) => i.item_id === id))).length;
    e.summary.textContent =
      `${count} indexed segment${count === 1 ? "" : "s"} in dataset ${recording.dataset}; ${marked} of this search's results are in it. ` +
      `${recording.truncated ? "Only the first segments are shown. " : ""}Use the arrow keys on the timeline, Enter or Space to play.`;
    this.media(recording, hit);
    this.layout(recording);
    const current = e.timeline.querySelector(`[data-item-id="${hit.item_id}"]`);
    if (current) {
      current.classList.add("current");
      this.focusSegment(current);
      this.cue(current);
    }
  }

  media(recording, hit) {
    const e = this.elements;
    if (recording.video_url) {
      const video = element("video", "recording-video");
      video.controls = true;
      video.muted = true;
      video.playsInline = true;
      video.preload = "auto";
      video.src = recording.video_url;
      video.setAttribute("aria-label", `Video of recording ${recording.name}`);
      video.addEventListener("timeupdate", () => this.playhead(video.currentTime));
      video.addEventListener("loadedmetadata", () => this.layout(recording));
      this.player = new SegmentPlayer(video);
      e.media.append(video);
    } else {
      this.player = null;
      this.canvas = skeletonCanvas(`Animated skeleton of ${describeItem(hit)}`);
      e.media.append(this.canvas);
    }
  }

  duration(recording) {
    const video = this.player && this.player.video;
    const known = video && Number.isFinite(video.duration) ? video.duration * 1000 : 0;
    const ends = recording.levels.flatMap((level) => level.items.map((item) => item.end_ms || 0));
    return Math.max(known, recording.duration_ms || 0, ...ends, 1);
  }

  // Lay out one row per level: each segment a button placed by its time on a shared, scrolling time axis.
  layout(recording) {
    const e = this.elements;
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.itemId : null;
    const current = e.timeline.querySelector(".segment.current");
    const currentId = current ? current.dataset.itemId : null;
    const duration = this.duration(recording);
    const width = Math.max(e.timeline.clientWidth - 2, (duration / 1000) * PIXELS_PER_SECOND);
    const inner = element("div", "timeline-inner");
    inner.style.width = `${width}px`;
    e.labels.replaceChildren();
    for (const level of recording.levels) {
      const labelId = `tier-${level.level}`;
      const label = element("div", "tier-name", LEVEL_NAMES[level.level] || level.level);
      label.id = labelId;
      e.labels.append(label);
      const track = element("div", "tier-track");
      track.setAttribute("role", "toolbar");
      track.setAttribute("aria-labelledby", labelId);
      for (const item of level.items) track.append(this.segmentButton(item, duration));
      inner.append(track);
    }
    const head = element("div", "playhead");
    head.setAttribute("aria-hidden", "true");
    inner.append(head);
    e.timeline.replaceChildren(inner);
    const buttons = [...e.timeline.querySelectorAll(".segment")];
    for (const button of buttons) button.tabIndex = -1;
    const keep = buttons.find((b) => b.dataset.itemId === currentId) || buttons[0];
    if (keep) {
      keep.tabIndex = 0;
      if (currentId) keep.classList.add("current");
      if (focused && keep.dataset.itemId === focused) keep.focus();
    }
  }

  segmentButton(item, duration) {
    const start = item.start_ms || 0;
    const end = item.end_ms === null ? duration : item.end_ms;
    const button = element("button", "segment");
    button.type = "button";
    button.dataset.itemId = String(item.item_id);
    button.dataset.start = String(start);
    button.dataset.end = String(end);
    button.style.left = `${(100 * start) / duration}%`;
    button.style.width = `${(100 * Math.max(end - start, 1)) / duration}%`;
    const rank = this.ranks.get(item.item_id);
    if (rank) button.classList.add("hit");
    const name = describeItem(item);
    button.textContent = rank ? `${rank}. ${name}` : name;
    const range = timeRange(item) || `${clock(start)}-${clock(end)}`;
    button.setAttribute("aria-label", `${name}, ${range}${rank ? `, result ${rank} of this search` : ""}`);
    button.title = `${name} ${range}${rank ? ` (result ${rank})` : ""}`;
    button.addEventListener("click", () => this.play(button));
    button.item = item;
    return button;
  }

  playhead(seconds) {
    const head = this.elements.timeline.querySelector(".playhead");
    if (head) head.style.left = `${(100 * seconds * 1000) / this.duration(this.recording)}%`;
  }

  // Seek to a segment's start without playing (what opening a hit does).
  cue(button) {
    const start = Number(button.dataset.start) / 1000;
    if (!this.player) return this.showSkeleton(button.item);
    const video = this.player.video;
    const seek = () => {
      this.player.start = start;
      this.player.end = Number(button.dataset.end) / 1000;
      video.currentTime = start;
    };
    if (video.readyState >= 1) seek();
    else video.addEventListener("loadedmetadata", seek, { once: true });
    this.announce(button, "from");
  }

  play(button) {
    for (const other of this.elements.timeline.querySelectorAll(".segment.current")) other.classList.remove("current");
    button.classList.add("current");
    this.focusSegment(button);
    this.announce(button, "playing");
    if (!this.player) return this.showSkeleton(button.item);
    this.player.play(Number(button.dataset.start) / 1000, Number(button.dataset.end) / 1000);
  }

  showSkeleton(item) {
    this.canvas.setAttribute("aria-label", `Animated skeleton of ${describeItem(item)}`);
    fetchJson(item.skeleton_url)
      .then((skeleton) => this.animations.show(this.canvas, skeleton))
      .catch((error) => this.canvas.setAttribute("aria-label", `No skeleton: ${error.message}`));
  }

  announce(button, verb) {
    this.elements.now.textContent = `${verb === "playing" ? "Playing" : "Ready at"} ${button.getAttribute("aria-label")}.`;
  }

  focusSegment(button) {
    for (const other of this.elements.timeline.querySelectorAll(".segment")) other.tabIndex = other === button ? 0 : -1;
    button.focus({ preventScroll: true });
    button.scrollIntoView({ block: "nearest", inline: "center" });
  }

  keydown(event) {
    const button = event.target.closest(".segment");
    if (!button) return;
    const tracks = [...this.elements.timeline.querySelectorAll(".tier-track")];
    const track = button.parentElement;
    const row = [...track.querySelectorAll(".segment")];
    let next = null;
    if (event.key === "ArrowRight") next = row[row.indexOf(button) + 1];
    else if (event.key === "ArrowLeft") next = row[row.indexOf(button) - 1];
    else if (event.key === "Home") next = row[0];
    else if (event.key === "End") next = row[row.length - 1];
    else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      const other = tracks[tracks.indexOf(track) + (event.key === "ArrowDown" ? 1 : -1)];
      const start = Number(button.dataset.start);
      const candidates = other ? [...other.querySelectorAll(".segment")] : [];
      next = candidates.reduce((best, b) => (!best || Math.abs(b.dataset.start - start) < Math.abs(best.dataset.start - start) ? b : best), null);
    } else {
      return;
    }
    event.preventDefault();
    if (next) this.focusSegment(next);
  }

  closed() {
    if (this.player) this.player.video.pause();
    if (this.returnFocus && this.returnFocus.isConnected) this.returnFocus.focus();
  }
}
