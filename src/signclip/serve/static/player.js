// The search page's segment player: a result's time range, and its recording's video played from the
// segment's start to its end. Loaded before app.js, which calls timeRange, isSegment and resultVideo
// (resultVideo uses app.js's describeItem).
"use strict";

// A time in ms as minutes:seconds to a tenth ("00:12.4"), as the command line prints it.
function clock(ms) {
  const tenths = Math.round(ms / 100);
  const minutes = String(Math.floor(tenths / 600)).padStart(2, "0");
  const seconds = String(Math.floor((tenths % 600) / 10)).padStart(2, "0");
  return `${minutes}:${seconds}.${tenths % 10}`;
}

function isSegment(item) {
  return item.start_ms !== null || item.end_ms !== null;
}

function timeRange(item) {
  if (!isSegment(item)) return "";
  return `${clock(item.start_ms || 0)}-${item.end_ms === null ? "" : clock(item.end_ms)}`;
}

// Pause `video` at `end` (browsers do not all honour a fragment's end), checking every animation frame
// while it plays; playing again after the end starts the segment over.
function stopAtEnd(video, start, end) {
  const check = () => {
    if (video.paused) return;
    if (video.currentTime >= end) {
      video.pause();
      video.currentTime = end;
    } else {
      window.requestAnimationFrame(check);
    }
  };
  video.addEventListener("play", () => {
    if (video.currentTime >= end - 0.05) video.currentTime = start;
    window.requestAnimationFrame(check);
  });
}

// The recording's video, played from the segment's start to its end (a media fragment #t=start,end).
function resultVideo(hit) {
  const video = document.createElement("video");
  video.className = "result-video";
  video.controls = true;
  video.muted = true;
  video.playsInline = true;
  video.preload = "metadata";
  const start = (hit.start_ms || 0) / 1000;
  const fragment = isSegment(hit) ? `#t=${start.toFixed(3)}${hit.end_ms === null ? "" : `,${(hit.end_ms / 1000).toFixed(3)}`}` : "";
  video.src = hit.video_url + fragment;
  video.setAttribute("aria-label", `Video of ${describeItem(hit)}${isSegment(hit) ? `, ${timeRange(hit)}` : ""}`);
  if (isSegment(hit) && hit.end_ms !== null) stopAtEnd(video, start, hit.end_ms / 1000);
  return video;
}
