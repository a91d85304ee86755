// The staff API, on this origin. Every error becomes an ApiError carrying the API's
// {code, message, fields}. A request that fails to reach the server is tried again — a write with the same
// Idempotency-Key, so the API does it once and answers a repeat with the first answer — and a 503 is tried
// again after the Retry-After the API sends (nothing was done); what still fails is explained in words.

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `the server answered ${status}`);
    this.status = status;
    this.code = error.code || (status === 0 ? "network" : "unknown");
    this.fields = Array.isArray(error.fields) ? error.fields : [];
    this.details = error;
  }

  // The message for a field (its dotted path as the API names it), if the API named it.
  field(path) {
    const found = this.fields.find((f) => f.field === path);
    return found ? found.message : null;
  }
}

const TRIES = 3;
const MAX_WAIT_MS = 5000;

let authHeaders = async () => ({});
let reauthenticate = async () => false;

export function configureAuth(headers, onUnauthorised) {
  authHeaders = headers;
  reauthenticate = onUnauthorised;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function idempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

// api("GET", "/customers", {query: {q: "ada"}, signal}) → the parsed JSON (null for 204).
// `meta.answeredAt` is set to performance.now() when the answer has arrived and been read.
export async function api(method, path, options = {}) {
  const { body, signal, meta, headers: extra } = options;
  const url = path + query(options.query);
  const key = method === "GET" ? null : idempotencyKey(); // the same for every try of this write
  for (let attempt = 1; ; attempt += 1) {
    let response;
    try {
      const headers = { Accept: "application/json", ...(await authHeaders()), ...(extra || {}) };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      if (key) headers["Idempotency-Key"] = key;
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        credentials: "same-origin",
      });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      if (attempt < TRIES) {
        await sleep(400 * attempt);
        continue;
      }
      throw new ApiError(0, {
        error: {
          code: "network",
          message: method === "GET"
            ? "The server could not be reached. Check the connection, then try again."
            : "The server could not be reached, so this was not saved (or its answer was lost). What you " +
              "entered is still here: check the connection, then try again.",
        },
      });
    }
    if ((response.status === 502 || response.status === 504) && method === "GET" && attempt < TRIES) {
      await sleep(400 * attempt); // the gateway lost the function's answer: a read is safe to ask again
      continue;
    }
    if (response.status === 503 && attempt < TRIES) {
      const seconds = Number(response.headers.get("Retry-After")) || 1;
      await sleep(Math.min(seconds * 1000, MAX_WAIT_MS));
      continue;
    }
    if (response.status === 409 && key && attempt < TRIES && (await underWay(response))) {
      await sleep(500 * attempt); // the first try of this write is still being served: wait for its answer
      continue;
    }
    if (response.status === 401 && attempt === 1 && (await reauthenticate())) continue;
    const text = await response.text();
    if (meta) meta.answeredAt = performance.now();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) {
      if (!data || !data.error) {
        data = { error: { code: "unknown", message: `The server answered ${response.status} ${response.statusText}.` } };
      }
      throw new ApiError(response.status, data);
    }
    return data;
  }
}

async function underWay(response) {
  try {
    const data = await response.clone().json();
    return Boolean(data && data.error && data.error.code === "request_under_way");
  } catch {
    return false;
  }
}

// Words for an error a person can act on, whatever it was.
export function describe(error) {
  if (error instanceof ApiError) {
    if (error.status === 401) return "You are no longer signed in: reload the page to sign in again.";
    if (error.status === 403 && error.code === "no_role") {
      return "Your account has no role in the console yet: ask an administrator to add you to a staff group.";
    }
    if (error.status === 403) return `Not allowed: ${error.message}`;
    if (error.status === 503) return "The service is busy; it was tried again and is still busy. Try again in a moment.";
    return capitalise(error.message);
  }
  return `Something went wrong in the console: ${error && error.message ? error.message : error}`;
}

export function capitalise(text) {
  // A message that starts with a field's own name ("ends_on is before starts_on") keeps it as it is.
  if (!text || /^\S*[_.]/.test(text)) return text;
  return text.charAt(0).toUpperCase() + text.slice(1);
}
