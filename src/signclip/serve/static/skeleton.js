// Skeletons drawn on canvases: an item's pose (from /api/items/{id}/skeleton) or the query's, animated
// together by one Animations loop that the page can pause (prefers-reduced-motion pauses it from the start).

const COLORS = {
  body: "#5a6472",
  face: "#9aa5b1",
  left: "#d9480f",
  right: "#1d5fbf",
  other: "#2b8a3e",
};

function componentColor(name) {
  const lower = name.toLowerCase();
  if (lower.includes("left")) return COLORS.left;
  if (lower.includes("right")) return COLORS.right;
  if (lower.includes("face")) return COLORS.face;
  if (lower.includes("pose") || lower.includes("body")) return COLORS.body;
  return COLORS.other;
}

function sizeCanvas(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
  const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
}

// Draw frame `frameIndex` of `skeleton` ({width, height, components, frames}) fitted into `canvas`.
export function drawSkeleton(canvas, skeleton, frameIndex) {
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
    if (isFace) continue;
    for (let i = 0; i < component.count; i++) {
      const p = point(component.start + i);
      if (!p) continue;
      context.beginPath();
      context.arc(p[0], p[1], lineWidth * 0.9, 0, 2 * Math.PI);
      context.fill();
    }
  }
}

// Every animated canvas of the page, redrawn on animation frames; paused ones show their middle frame.
export class Animations {
  constructor(paused) {
    this.paused = paused;
    this.running = new Map(); // canvas -> {skeleton, start, drawn}
    window.requestAnimationFrame((now) => this.tick(now));
  }

  frameAt(skeleton, start, now) {
    const count = skeleton.frames.length;
    if (this.paused) return Math.floor(count / 2);
    return Math.floor(((now - start) / 1000) * (skeleton.fps || 25)) % count;
  }

  tick(now) {
    for (const [canvas, animation] of this.running) {
      if (!canvas.isConnected) {
        this.running.delete(canvas);
        continue;
      }
      const index = this.frameAt(animation.skeleton, animation.start, now);
      const resized = canvas.width !== Math.round(canvas.clientWidth * (window.devicePixelRatio || 1));
      if (index !== animation.drawn || resized) {
        drawSkeleton(canvas, animation.skeleton, index);
        animation.drawn = index;
      }
    }
    window.requestAnimationFrame((next) => this.tick(next));
  }

  show(canvas, skeleton) {
    const now = performance.now();
    this.running.set(canvas, { skeleton, start: now, drawn: -1 });
    drawSkeleton(canvas, skeleton, this.frameAt(skeleton, now, now));
  }

  setPaused(paused) {
    this.paused = paused;
    for (const animation of this.running.values()) animation.drawn = -1;
  }
}

// A canvas for an item's skeleton, labelled for screen readers.
export function skeletonCanvas(label) {
  const canvas = document.createElement("canvas");
  canvas.className = "skeleton";
  canvas.width = 200;
  canvas.height = 200;
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", label);
  return canvas;
}
