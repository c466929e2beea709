// The page's calls to the HTTP API: JSON and file answers, and errors worded for this page (a model choice
// names the Model menu or the server's --model, not the API's model_name).

export class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

// What the page says about a 409 model choice (`problem` and `fact` of the error body) to a person on it.
export function modelChoiceWording(body, menuShown) {
  const models = (body.models || []).join(", ");
  const restart = "restart the server with one of them (signclip serve --model DIRECTORY)";
  const remedy = {
    other: menuShown ? "choose one of them in the Model menu" : restart,
    several: menuShown ? "choose one of them in the Model menu" : restart,
    none: "index it first (signclip index add, see the README)",
    unknown_source: "restart the server with that model (signclip serve --model DIRECTORY)",
    not_loaded: restart,
  }[body.problem];
  const listed = models && !(body.fact || "").includes(models) ? ` (models of this dataset: ${models})` : "";
  return `${body.fact || body.detail}${listed}; ${remedy || "see the server's documentation"}.`;
}

async function failure(response, options) {
  let body = null;
  try {
    body = await response.json();
  } catch (error) {
    body = null;
  }
  let message = body && body.detail ? body.detail : `${response.status} ${response.statusText}`;
  if (body && body.problem) message = modelChoiceWording(body, options.menuShown);
  else if (body && body.models && body.models.length) message += ` (models of this dataset: ${body.models.join(", ")})`;
  return new ApiError(message, response.status, body);
}

// GET or POST `url` and return its JSON; an ApiError worded for the page when the answer is not 2xx.
// `options.menuShown` says whether the page shows its Model menu (for a model-choice error's remedy).
export async function fetchJson(url, options = {}) {
  const response = await fetch(url, options);
  if (!response.ok) throw await failure(response, options);
  return response.json();
}

// POST JSON to `url` and save the answer as a download under the file name the server gives.
export async function downloadFile(url, payload) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(payload),
  });
  if (!response.ok) throw await failure(response, {});
  const disposition = response.headers.get("Content-Disposition") || "";
  const name = (disposition.match(/filename="([^"]+)"/) || [null, "download"])[1];
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  return name;
}
