// What every screen shares: the signed-in user and what they may do, the staff directory, their list
// preferences, the one render loop, navigation and the announcements screen readers hear.
import { html, render } from "../vendor/lit-html.js";

export const app = {
  config: null, // config.json: {mode: "local"} or {mode: "cognito", auth: {...}}
  me: null, // GET /me: username, name, email, roles, permissions
  directory: [], // GET /staff: the staff users work can be assigned to
  preferences: null, // GET /me/preferences
  banner: null, // {kind: "error"|"info", text} shown above every screen
  announcement: "",
};

let rootView = null;
let rootElement = null;
let scheduled = false;
const afterRender = [];

export function mount(view, element) {
  rootView = view;
  rootElement = element;
  rootElement.replaceChildren(); // the page's "Loading…" placeholder
  update();
}

// Re-render the whole console (lit-html changes only what differs); `then` runs once the DOM is updated.
export function update(then) {
  if (then) afterRender.push(then);
  if (scheduled || !rootView) return;
  scheduled = true;
  queueMicrotask(() => {
    scheduled = false;
    try {
      render(rootView(), rootElement);
    } catch (error) {
      // Never a blank page: say what happened, and how to go on.
      console.error(error);
      render(html`<main id="main" tabindex="-1"><h1 data-page-title tabindex="-1">Something went wrong in the console</h1>
        <div class="error-summary" role="alert"><p>${String(error && error.message ? error.message : error)}</p>
        <p>What was saved is safe. <button type="button" @click=${() => location.reload()}>Reload the page</button></p></div></main>`,
      rootElement);
      return;
    }
    openDialogs();
    for (const callback of afterRender.splice(0)) callback();
  });
}

// Modal dialogs are rendered as <dialog data-modal>; opening one as a modal traps focus in it, and when
// it closes focus goes back to where it was.
const returnFocus = new WeakMap();
function openDialogs() {
  for (const dialog of rootElement.querySelectorAll("dialog[data-modal]")) {
    if (dialog.open) continue;
    returnFocus.set(dialog, document.activeElement);
    dialog.showModal();
    const first = dialog.querySelector("[autofocus], [data-autofocus]");
    if (first) first.focus();
  }
}

export function restoreFocus(dialog) {
  const target = dialog && returnFocus.get(dialog);
  if (target && target.isConnected) target.focus();
}

// `GET /customers/{customer_id}` etc., exactly as the API's /me lists them.
export function can(method, path) {
  return Boolean(app.me && app.me.permissions.includes(`${method} ${path}`));
}

export function staffLabel(username) {
  const found = app.directory.find((s) => s.username === username);
  return found && found.name ? `${found.name} (${username})` : username;
}

export function announce(text) {
  // Cleared first so the same words said twice are heard twice.
  app.announcement = "";
  update(() => {
    app.announcement = text;
    update();
  });
}

export function navigate(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

export function customerName(customer) {
  if (!customer) return "";
  if (customer.type === "organization") return customer.organization_name || "(no name)";
  return [customer.first_name, customer.last_name].filter(Boolean).join(" ") || "(no name)";
}

// Debounce: the call happens `ms` after the last one.
export function debounce(fn, ms) {
  let timer = null;
  const debounced = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  debounced.cancel = () => clearTimeout(timer);
  return debounced;
}

// Run a dialog's or form's action: `state.busy` while it runs, its error kept on `state.error` to be shown
// where it happened; true when the action succeeded.
export async function busyWhile(state, action) {
  state.busy = true;
  state.error = null;
  update();
  try {
    await action();
    return true;
  } catch (error) {
    state.error = error;
    return false;
  } finally {
    state.busy = false;
    update();
  }
}
