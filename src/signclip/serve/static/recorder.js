// "Sign it": film the query with the webcam (MediaRecorder): the camera's live preview, a countdown, a few
// seconds of recording (or Stop), the recording played back, then search with it or retake.

const COUNTDOWN_SECONDS = 3;
const MAX_SECONDS = 4;

function recorderType() {
  for (const type of ["video/webm;codecs=vp8", "video/webm", "video/mp4"]) {
    if (window.MediaRecorder && MediaRecorder.isTypeSupported(type)) return type;
  }
  return "";
}

const wait = (ms) => new Promise((resolve) => window.setTimeout(resolve, ms));

// The recorder of the page's "Sign it" panel; `onRecording(file, button)` searches with the recorded file.
export class Recorder {
  constructor(elements, onRecording) {
    this.elements = elements;
    this.onRecording = onRecording;
    this.stream = null;
    this.recorder = null;
    this.file = null;
    elements.cameraOpen.addEventListener("click", () => this.open());
    elements.cameraClose.addEventListener("click", () => this.close());
    elements.recordStart.addEventListener("click", () => this.record());
    elements.recordStop.addEventListener("click", () => this.stop());
    elements.recordRetake.addEventListener("click", () => this.retake());
    elements.recordSearch.addEventListener("click", () => this.onRecording(this.file, elements.recordSearch));
  }

  say(message, isError = false) {
    this.elements.recorderStatus.textContent = message;
    this.elements.recorderStatus.classList.toggle("error", isError);
  }

  show(visible) {
    const e = this.elements;
    for (const [element, shown] of [
      [e.recordStart, visible.start], [e.recordStop, visible.stop],
      [e.recordSearch, visible.search], [e.recordRetake, visible.retake],
    ]) {
      element.hidden = !shown;
    }
  }

  async open() {
    const e = this.elements;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !recorderType()) {
      this.say("This browser cannot film here (the camera needs https or localhost, and MediaRecorder).", true);
      return;
    }
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 } }, audio: false });
    } catch (error) {
      this.say(`The camera could not be opened: ${error.message || error.name}. Allow the camera for this page, or upload a video instead.`, true);
      return;
    }
    e.recorder.hidden = false;
    e.panel.classList.add("open");
    e.cameraOpen.hidden = true;
    this.retake();
    e.recordStart.focus();
  }

  // Back to the live camera, ready to record.
  retake() {
    const preview = this.elements.preview;
    this.file = null;
    preview.controls = false;
    preview.loop = false;
    preview.removeAttribute("src");
    preview.srcObject = this.stream;
    preview.setAttribute("aria-label", "Live camera preview");
    preview.play().catch(() => {});
    this.show({ start: true });
    this.say(`Press Start recording, then sign after the ${COUNTDOWN_SECONDS}-second countdown (up to ${MAX_SECONDS} s).`);
  }

  async record() {
    const e = this.elements;
    this.show({});
    for (let second = COUNTDOWN_SECONDS; second > 0; second--) {
      e.countdown.textContent = String(second);
      e.countdown.hidden = false;
      this.say(`Recording in ${second}…`);
      await wait(1000);
      if (!this.stream) return; // closed during the countdown
    }
    e.countdown.hidden = true;
    const chunks = [];
    const type = recorderType();
    this.recorder = new MediaRecorder(this.stream, { mimeType: type });
    this.recorder.addEventListener("dataavailable", (event) => event.data.size && chunks.push(event.data));
    this.recorder.addEventListener("stop", () => this.recorded(new Blob(chunks, { type: type.split(";")[0] })));
    this.recorder.start();
    this.show({ stop: true });
    e.recordStop.focus();
    this.say(`Recording… sign now (stops by itself after ${MAX_SECONDS} s).`);
    this.timer = window.setTimeout(() => this.stop(), MAX_SECONDS * 1000);
  }

  stop() {
    window.clearTimeout(this.timer);
    if (this.recorder && this.recorder.state === "recording") this.recorder.stop();
  }

  recorded(blob) {
    const e = this.elements;
    this.recorder = null;
    if (!blob.size) {
      this.say("Nothing was recorded: the camera gave no frames. Retake, or upload a video.", true);
      this.show({ retake: true });
      return;
    }
    const extension = blob.type.includes("mp4") ? "mp4" : "webm";
    this.file = new File([blob], `recording.${extension}`, { type: blob.type });
    e.preview.srcObject = null;
    e.preview.src = URL.createObjectURL(blob);
    e.preview.controls = true;
    e.preview.loop = true;
    e.preview.setAttribute("aria-label", "Your recording");
    e.preview.play().catch(() => {});
    this.show({ search: true, retake: true });
    e.recordSearch.focus();
    this.say(`Recorded ${(blob.size / 1024).toFixed(0)} KB. Search with it, or retake.`);
  }

  close() {
    this.stop();
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
    this.elements.preview.srcObject = null;
    this.elements.recorder.hidden = true;
    this.elements.panel.classList.remove("open");
    this.elements.cameraOpen.hidden = false;
    this.elements.cameraOpen.focus();
    this.say("");
  }
}
