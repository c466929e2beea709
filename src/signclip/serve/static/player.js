// Segments of recordings: their time ranges as the command line prints them, and videos that play one
// segment from its start to its end (a result card's video, or the recording view's).

// A time in ms as minutes:seconds to a tenth ("00:12.4"), as the command line prints it.
export function clock(ms) {
  const tenths = Math.round(ms / 100);
  const minutes = String(Math.floor(tenths / 600)).padStart(2, "0");
  const seconds = String(Math.floor((tenths % 600) / 10)).padStart(2, "0");
  return `${minutes}:${seconds}.${tenths % 10}`;
}

export function isSegment(item) {
  return item.start_ms !== null || item.end_ms !== null;
}

export function timeRange(item) {
  if (!isSegment(item)) return "";
  return `${clock(item.start_ms || 0)}-${item.end_ms === null ? "" : clock(item.end_ms)}`;
}

export function describeItem(item) {
  return item.gloss || item.text || item.key;
}

// Plays `video` between two times (s): browsers do not all honour a media fragment's end, so the player
// pauses at the end itself, checking every animation frame while the video plays; playing again after
// the end starts the segment over.
export class SegmentPlayer {
  constructor(video, start = 0, end = null) {
    this.video = video;
    this.start = start;
    this.end = end;
    video.addEventListener("play", () => {
      if (this.end !== null && video.currentTime >= this.end - 0.05) video.currentTime = this.start;
      window.requestAnimationFrame(() => this.check());
    });
  }

  check() {
    const video = this.video;
    if (video.paused || this.end === null) return;
    if (video.currentTime >= this.end) {
      video.pause();
      video.currentTime = this.end;
    } else {
      window.requestAnimationFrame(() => this.check());
    }
  }

  // Seek to `start` (s) and play until `end` (s; null: to the recording's end).
  play(start, end) {
    this.start = start;
    this.end = end;
    this.video.currentTime = start;
    return this.video.play().catch(() => {}); // a browser may refuse autoplay; the controls still work
  }
}

// A result's video: the recording played from the segment's start to its end (a media fragment #t=start,end).
export function resultVideo(hit) {
  const video = document.createElement("video");
  video.className = "result-video";
  video.controls = true;
  video.muted = true;
  video.playsInline = true;
  video.preload = "metadata";
  const start = (hit.start_ms || 0) / 1000;
  const end = isSegment(hit) && hit.end_ms !== null ? hit.end_ms / 1000 : null;
  const fragment = isSegment(hit) ? `#t=${start.toFixed(3)}${end === null ? "" : `,${end.toFixed(3)}`}` : "";
  video.src = hit.video_url + fragment;
  video.setAttribute("aria-label", `Video of ${describeItem(hit)}${isSegment(hit) ? `, ${timeRange(hit)}` : ""}`);
  video.segmentPlayer = new SegmentPlayer(video, start, end);
  return video;
}
