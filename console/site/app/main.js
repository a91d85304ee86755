// The console's shell: sign-in (or the local picker), who is signed in, the header, and which screen the
// address (#/customers, #/customers/<id>/<tab>, #/customers/new) shows.
import { html, nothing } from "../vendor/lit-html.js";
import { ApiError, api, configureAuth, describe } from "./api.js";
import { authHeaders, chooseLocalUser, isLocal, loadConfig, refresh, session, signIn, signOut } from "./auth.js";
import { announce, app, can, mount, update } from "./core.js";
import { ListScreen } from "./list.js";

const ID = "[0-9A-HJKMNP-TV-Z]{26}";
const listScreen = new ListScreen();
let screen = null;
let bootError = null;
let localDirectory = []; // the local stack's staff users, for the picker

function route() {
  const hash = location.hash || "#/customers";
  let found = hash.match(new RegExp(`^#/customers/(${ID})(?:/([a-z-]+))?$`));
  if (found) return { name: "record", id: found[1], tab: found[2] || null };
  if (hash === "#/customers/new") return { name: "new" };
  found = hash.match(/^#\/?(customers)?\/?$/);
  return found ? { name: "list" } : { name: "missing" };
}

async function show() {
  const wanted = route();
  const before = screen;
  if (wanted.name === "record") {
    if (before && before.kind === "record" && before.id === wanted.id) {
      before.select(wanted.tab);
      return;
    }
    const { RecordScreen } = await import("./record.js");
    screen = new RecordScreen(wanted.id, wanted.tab);
  } else if (wanted.name === "new") {
    const { NewCustomerScreen } = await import("./new.js");
    screen = new NewCustomerScreen();
  } else if (wanted.name === "list") {
    screen = listScreen;
  } else {
    screen = { kind: "missing", view: () => html`<h1 tabindex="-1" data-page-title>Page not found</h1>
      <p>There is no such page. <a href="#/customers">Go to the customers list</a>.</p>` };
  }
  if (before && before !== screen && before.leave) before.leave();
  if (screen.enter) screen.enter();
  update(() => {
    const focusTarget = document.querySelector("[data-autofocus-page]") || document.querySelector("[data-page-title]");
    if (focusTarget) focusTarget.focus();
    document.title = `${screen.title ? screen.title() : "Customers"} — staff console`;
  });
}

// ---- the header ------------------------------------------------------------------------------------

function picker() {
  if (!isLocal()) return nothing;
  const current = session.localUser ? session.localUser.username : "";
  const choices = localDirectory.filter((u) => u.username !== "local-staff");
  return html`
    <div class="local-picker">
      <label for="local-user"><span class="local-tag">Local stack</span> Act as</label>
      <select id="local-user" @change=${(e) => switchLocalUser(e.target.value)}>
        <option value="" ?selected=${current === ""}>local-staff (staff, admin) — the default</option>
        ${choices.map((u) => html`<option value=${u.username} ?selected=${current === u.username}>
          ${u.name || u.username} (${u.roles.join(", ") || "no role"})</option>`)}
        <option value="nobody" ?selected=${current === "nobody"}>nobody (no role)</option>
      </select>
    </div>`;
}

async function switchLocalUser(username) {
  const user = username === "" ? null
    : username === "nobody" ? { username: "nobody", roles: [] }
      : localDirectory.find((u) => u.username === username);
  chooseLocalUser(user ? { username: user.username, roles: user.roles } : null);
  await loadUser();
  listScreen.reset();
  announce(`Now acting as ${app.me ? app.me.username : username}`);
  show();
}

function header() {
  const me = app.me;
  return html`
    <header class="top">
      <a class="skip" href="#main" @click=${skipToMain}>Skip to content</a>
      <p class="brand"><a href="#/customers">Customers</a></p>
      <nav aria-label="Console">
        <ul>
          <li><a href="#/customers" aria-current=${screen && screen.kind === "list" ? "page" : nothing}>Find customers</a></li>
          ${can("POST", "/customers") ? html`<li><a href="#/customers/new"
            aria-current=${screen && screen.kind === "new" ? "page" : nothing}>Add customer</a></li>` : nothing}
        </ul>
      </nav>
      <div class="who">
        ${picker()}
        ${me ? html`<p class="signed-in">Signed in as <strong>${me.name || me.username}</strong>
          <span class="roles">(${me.roles.length ? me.roles.join(", ") : "no role"})</span></p>` : nothing}
        ${!isLocal() && session.config ? html`<button type="button" class="link" @click=${signOut}>Sign out</button>` : nothing}
      </div>
    </header>`;
}

function skipToMain(event) {
  event.preventDefault();
  const target = document.querySelector("[data-autofocus-page]") || document.getElementById("main");
  target.focus();
}

function banner() {
  if (!app.banner) return nothing;
  return html`<div class="banner ${app.banner.kind}" role=${app.banner.kind === "error" ? "alert" : "status"}>
    <p>${app.banner.text}</p>
    <button type="button" class="link" @click=${() => { app.banner = null; update(); }}>Dismiss</button></div>`;
}

function body() {
  if (bootError) {
    return html`<h1 tabindex="-1" data-page-title>The console could not start</h1>
      <div class="error-summary" role="alert"><p>${describe(bootError)}</p>
      <button type="button" @click=${() => location.reload()}>Reload</button></div>`;
  }
  if (!app.me) return html`<h1 tabindex="-1" data-page-title>Staff console</h1><p role="status">Loading…</p>`;
  if (app.noRole) {
    return html`<h1 tabindex="-1" data-page-title>No access yet</h1>
      <div class="error-summary" role="alert"><p>${describe(app.noRole)}</p></div>`;
  }
  return screen ? screen.view() : nothing;
}

function view() {
  return html`${header()}<main id="main" tabindex="-1">${banner()}${body()}</main>
    <div class="visually-hidden" role="status" aria-live="polite">${app.announcement}</div>`;
}

// ---- starting ----------------------------------------------------------------------------------------

// Who is signed in, the staff directory and their preferences, taken on together once all have arrived:
// the screens never show one user's role with another's list.
async function loadUser() {
  let me;
  try {
    me = await api("GET", "/me");
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) {
      app.me = { username: session.localUser ? session.localUser.username : "", roles: [], permissions: [] };
      app.noRole = error;
      return;
    }
    throw error;
  }
  const may = (route) => me.permissions.includes(route);
  const [directory, preferences] = await Promise.all([
    may("GET /staff") ? api("GET", "/staff").then((d) => d.items).catch(() => []) : [],
    may("GET /me/preferences") ? api("GET", "/me/preferences").catch(() => null) : null,
  ]);
  Object.assign(app, { me, noRole: null, directory, preferences });
}

async function start() {
  mount(view, document.getElementById("app"));
  window.addEventListener("error", (e) => failed(e.error || e.message));
  window.addEventListener("unhandledrejection", (e) => failed(e.reason));
  try {
    await loadConfig();
    configureAuth(authHeaders, refresh);
    if (!isLocal() && !(await signIn())) return; // on the way to the hosted UI
    if (isLocal()) {
      // The picker lists the local staff directory, read as the local stack's default user.
      localDirectory = await api("GET", "/staff", { headers: { "X-Dev-User": "local-staff", "X-Dev-Groups": "staff,admin" } })
        .then((d) => d.items).catch(() => []);
    }
    await loadUser();
  } catch (error) {
    bootError = error;
    update();
    return;
  }
  window.addEventListener("hashchange", show);
  show();
}

function failed(error) {
  if (error && error.name === "AbortError") return;
  app.banner = { kind: "error", text: describe(error) };
  update();
}

start();
