// The customers list: search as you type (the newest answer wins), the gear choosing which columns a
// keyword searches, the registration window, filters, paging, the columns shown and their widths (kept in
// /me/preferences), and the selected rows' bulk actions (assign staff, delete).
import { html, nothing } from "../vendor/lit-html.js";
import { ApiError, api, describe } from "./api.js";
import { announce, app, busyWhile, can, customerName, debounce, navigate, staffLabel, update } from "./core.js";
import { checkbox, close, day, modal, selectField, statusBadge, value, when } from "./ui.js";

export const COLUMNS = {
  customer_number: ["Number", (c) => c.customer_number],
  type: ["Type", (c) => (c.type === "organization" ? "Organisation" : "Individual")],
  first_name: ["First name", (c) => value(c.first_name)],
  last_name: ["Last name", (c) => value(c.last_name)],
  organization_name: ["Organisation", (c) => value(c.organization_name)],
  email: ["Email", (c) => value(c.email)],
  phone: ["Phone", (c) => value(c.phone)],
  username: ["Username", (c) => value(c.username)],
  "address.line1": ["Address", (c) => value(c.address && c.address.line1)],
  "address.city": ["Town or city", (c) => value(c.address && c.address.city)],
  "address.postcode": ["Postcode", (c) => value(c.address && c.address.postcode)],
  "address.country": ["Country", (c) => value(c.address && c.address.country)],
  status: ["Status", (c) => statusBadge(c)],
  assigned_staff: ["Assigned staff", (c) => (c.assigned_staff.length ? c.assigned_staff.map(staffLabel).join(", ") : "—")],
  created_at: ["Registered", (c) => when(c.created_at)],
  date_of_birth: ["Date of birth", (c) => day(c.date_of_birth)],
};
const FALLBACK_COLUMNS = ["customer_number", "type", "first_name", "last_name", "organization_name", "email", "phone",
  "address.postcode", "status"];
export const SEARCH_FIELDS = [
  ["name", "Name"], ["customer_number", "Customer number"], ["email", "Email"], ["phone", "Phone"],
  ["username", "Username"], ["postcode", "Postcode"], ["organization", "Organisation"],
];
const WINDOWS = [["7", "Last 7 days"], ["30", "Last 30 days"], ["90", "Last 90 days"], ["180", "Last 6 months"],
  ["366", "Last year"], ["", "Any time"]];
const NAME_WIDTH_KEY = "name";
const MIN_WIDTH = 60;
const MAX_WIDTH = 800;

export class ListScreen {
  constructor() {
    this.kind = "list";
    this.reset();
    this.searchSoon = debounce(() => this.search(), 250);
    this.savePreferencesSoon = debounce(() => this.savePreferences(), 600);
  }

  reset() {
    this.q = "";
    this.windowDays = "30";
    this.windowChosen = false; // the person picked a window themselves
    this.type = "";
    this.status = "";
    this.assigned = "";
    this.pageSize = 25;
    this.cursors = [null];
    this.page = 0;
    this.result = null;
    this.error = null;
    this.searching = false;
    this.seq = 0;
    this.controller = null;
    this.selected = new Map(); // id → name, across pages
    this.panel = null; // "gear" | "columns"
    this.bulk = null;
    this.preferencesError = null;
  }

  title() {
    return "Customers";
  }

  enter() {
    this.search({ keepPage: true });
  }

  leave() {
    this.searchSoon.cancel();
  }

  // ---- preferences -------------------------------------------------------------------------------

  get preferences() {
    if (!app.preferences) app.preferences = { columns: FALLBACK_COLUMNS.slice(), widths: {}, search_fields: null };
    return app.preferences;
  }

  get columns() {
    return this.preferences.columns.filter((c) => c in COLUMNS);
  }

  get searchFields() {
    return this.preferences.search_fields || SEARCH_FIELDS.map(([f]) => f);
  }

  async savePreferences() {
    if (!can("PUT", "/me/preferences")) return;
    const { columns, widths, search_fields: searchFields } = this.preferences;
    try {
      app.preferences = await api("PUT", "/me/preferences", { body: { columns, widths, search_fields: searchFields } });
      this.preferencesError = null;
    } catch (error) {
      this.preferencesError = error;
    }
    update();
  }

  toggleColumn(column, shown) {
    const current = this.columns;
    const next = shown ? Object.keys(COLUMNS).filter((c) => c === column || current.includes(c)) : current.filter((c) => c !== column);
    if (!next.length) return; // at least one column stays
    this.preferences.columns = next;
    this.savePreferencesSoon();
    update();
  }

  toggleSearchField(field, on) {
    const current = new Set(this.searchFields);
    if (on) current.add(field);
    else current.delete(field);
    if (!current.size) return; // a keyword searches at least one column
    const all = SEARCH_FIELDS.map(([f]) => f);
    this.preferences.search_fields = current.size === all.length ? null : all.filter((f) => current.has(f));
    this.savePreferencesSoon();
    if (this.q.trim()) this.search();
    update();
  }

  width(column) {
    return this.preferences.widths[column] || (column === NAME_WIDTH_KEY ? 220 : 150);
  }

  setWidth(column, px) {
    this.preferences.widths = { ...this.preferences.widths, [column]: Math.round(Math.max(MIN_WIDTH, Math.min(MAX_WIDTH, px))) };
    this.savePreferencesSoon();
    update();
  }

  // ---- searching -------------------------------------------------------------------------------------

  onKeyword(text) {
    this.q = text;
    if (!this.windowChosen) this.windowDays = text.trim() ? "" : "30";
    // A new question: its answer starts at page 1, and the old pages are no longer its pages.
    this.cursors = [null];
    this.page = 0;
    this.typing = true;
    this.searchSoon();
    update();
  }

  setFilter(name, val) {
    this[name] = val;
    if (name === "windowDays") this.windowChosen = true;
    this.search();
  }

  params() {
    const q = this.q.trim();
    const anyTime = this.windowDays === "" && (q || this.assigned);
    const all = SEARCH_FIELDS.length;
    return {
      q: q || undefined,
      fields: q && this.searchFields.length < all ? this.searchFields.join(",") : undefined,
      registered_within_days: anyTime ? undefined : this.windowDays || "30",
      type: this.type || undefined,
      status: this.status || undefined,
      assigned_to: this.assigned || undefined,
      limit: this.pageSize,
      cursor: this.cursors[this.page] || undefined,
    };
  }

  describeWindow() {
    const q = this.q.trim();
    if (this.windowDays === "" && (q || this.assigned)) return "registered at any time";
    const days = this.windowDays || "30";
    const label = WINDOWS.find(([v]) => v === days)[1].toLowerCase();
    return `registered in the ${label}`;
  }

  async search({ page = 0, keepPage = false } = {}) {
    this.searchSoon.cancel();
    this.typing = false;
    if (!keepPage) {
      if (page === 0) this.cursors = [null];
      this.page = page;
    }
    const seq = (this.seq += 1);
    if (this.controller) this.controller.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.searching = true;
    update();
    const meta = {};
    try {
      const result = await api("GET", "/customers", { query: this.params(), signal: controller.signal, meta });
      if (seq !== this.seq) return; // a newer search was asked for: its answer wins
      this.result = result;
      this.error = null;
      this.cursors[this.page + 1] = result.next_cursor;
    } catch (error) {
      if (error.name === "AbortError" || seq !== this.seq) return;
      this.error = error;
      if (error instanceof ApiError && error.code === "invalid_cursor") this.cursors = [null];
    }
    this.searching = false;
    update(() => {
      if (seq !== this.seq) return;
      document.body.dataset.searchShown = String(seq);
      if (meta.answeredAt) {
        // The time from the API's answer to the results on screen (measured by bench/console_page.py).
        requestAnimationFrame(() => setTimeout(() => {
          performance.measure("crm:search-shown", { start: meta.answeredAt, end: performance.now() });
        }, 0));
      }
      announce(this.error ? describe(this.error) : this.summary());
    });
  }

  summary() {
    if (!this.result) return "";
    const n = this.result.items.length;
    const q = this.q.trim();
    const what = q ? `matching “${q}”` : "";
    if (!n) return q ? `No customers ${what}, ${this.describeWindow()}.` : `No customers ${this.describeWindow()}.`;
    const more = this.result.next_cursor ? "; more on the next page" : "";
    return `Page ${this.page + 1}: ${n} customer${n === 1 ? "" : "s"} ${what} ${this.describeWindow()}, newest first${more}.`
      .replace(/\s+/g, " ");
  }

  // ---- selection and bulk actions ------------------------------------------------------------------

  toggleRow(customer, on) {
    if (on) this.selected.set(customer.id, customerName(customer));
    else this.selected.delete(customer.id);
    update();
  }

  togglePage(on) {
    for (const c of this.result ? this.result.items : []) this.toggleRow(c, on);
  }

  openBulk(kind) {
    // The dialog acts on the customers selected when it opened.
    this.bulk = { kind, staff: app.directory.length ? app.directory[0].username : "", assign: true, deleteHistory: false,
      busy: false, error: null, outcomes: null, ids: [...this.selected.keys()], names: [...this.selected.values()] };
    update();
  }

  async runBulk() {
    const bulk = this.bulk;
    const ids = bulk.ids;
    await busyWhile(bulk, async () => {
      if (bulk.kind === "delete") {
        bulk.outcomes = await api("POST", "/customers/delete", { body: { ids, delete_history: bulk.deleteHistory } });
      } else {
        bulk.outcomes = await api("POST", bulk.assign ? "/customers/assign" : "/customers/unassign",
          { body: { ids, staff_user: bulk.staff } });
      }
      for (const o of bulk.outcomes) if (o.outcome === "deleted") this.selected.delete(o.id);
      announce(outcomeSummary(bulk.outcomes));
      this.search({ keepPage: true });
    });
  }

  // ---- view ----------------------------------------------------------------------------------------------

  view() {
    return html`
      <h1 tabindex="-1" data-page-title>Customers</h1>
      ${this.searchForm()}
      ${this.preferencesError ? html`<p class="inline-warning" role="status">Your column choices could not be saved:
        ${describe(this.preferencesError)}</p>` : nothing}
      ${this.bulkBar()}
      ${this.table()}
      ${this.pager()}
      ${this.bulkDialog()}`;
  }

  searchForm() {
    const qError = this.error instanceof ApiError && this.error.field("q");
    const staffChoices = [["", "Anyone"], ...app.directory.map((s) => [s.username, staffLabel(s.username)])];
    return html`
      <form class="search" role="search" aria-label="Customers" @submit=${(e) => { e.preventDefault(); this.search(); }}>
        <div class="keyword field ${qError ? "has-error" : ""}">
          <label for="keyword">Search customers</label>
          <p class="hint" id="keyword-hint">Searching ${this.searchFields.length === SEARCH_FIELDS.length ? "every column"
            : SEARCH_FIELDS.filter(([f]) => this.searchFields.includes(f)).map(([, l]) => l.toLowerCase()).join(", ")}.
            Each word must start a word of the customer's details. Press / to come back here.</p>
          ${qError ? html`<p class="field-error" id="keyword-error"><span class="visually-hidden">Error: </span>Search ${qError}</p>` : nothing}
          <div class="keyword-row">
            <input id="keyword" type="search" name="q" .value=${this.q} autocomplete="off" data-autofocus-page
              aria-describedby="keyword-hint ${qError ? "keyword-error" : ""}" aria-invalid=${qError ? "true" : "false"}
              @input=${(e) => this.onKeyword(e.target.value)}>
            <button type="button" class="icon gear" aria-expanded=${this.panel === "gear" ? "true" : "false"}
              aria-controls="search-columns" @click=${() => this.togglePanel("gear")}>
              <span aria-hidden="true">⚙</span> Columns searched</button>
            <button type="button" class="icon" aria-expanded=${this.panel === "columns" ? "true" : "false"}
              aria-controls="shown-columns" @click=${() => this.togglePanel("columns")}>Columns shown</button>
          </div>
        </div>
        ${this.panel === "gear" ? html`
          <fieldset id="search-columns" class="panel">
            <legend>Columns a keyword searches</legend>
            ${SEARCH_FIELDS.map(([field, label]) => checkbox({ id: `search-${field}`, label, checked: this.searchFields.includes(field),
              onChange: (on) => this.toggleSearchField(field, on) }))}
          </fieldset>` : nothing}
        ${this.panel === "columns" ? html`
          <fieldset id="shown-columns" class="panel">
            <legend>Columns shown in the list</legend>
            ${Object.entries(COLUMNS).map(([column, [label]]) => checkbox({ id: `show-${column.replace(".", "-")}`, label,
              checked: this.columns.includes(column), onChange: (on) => this.toggleColumn(column, on) }))}
          </fieldset>` : nothing}
        <div class="filters">
          ${selectField({ id: "window", label: "Registered", value: this.windowDays,
            choices: WINDOWS.map(([v, l]) => [v, l, v === "" && !this.q.trim() && !this.assigned]),
            onChange: (v) => this.setFilter("windowDays", v) })}
          ${selectField({ id: "type", label: "Type", value: this.type,
            choices: [["", "Any type"], ["individual", "Individual"], ["organization", "Organisation"]],
            onChange: (v) => this.setFilter("type", v) })}
          ${selectField({ id: "status", label: "Status", value: this.status,
            choices: [["", "Any status"], ["active", "Active"], ["enrolled", "Enrolled"], ["inactive", "Inactive"], ["merged", "Merged"]],
            onChange: (v) => this.setFilter("status", v) })}
          ${selectField({ id: "assigned", label: "Assigned staff", value: this.assigned, choices: staffChoices,
            onChange: (v) => this.setFilter("assigned", v) })}
          ${selectField({ id: "page-size", label: "Per page", value: String(this.pageSize),
            choices: [["25", "25"], ["50", "50"], ["100", "100"]], onChange: (v) => { this.pageSize = Number(v); this.search(); } })}
        </div>
      </form>`;
  }

  togglePanel(name) {
    this.panel = this.panel === name ? null : name;
    update();
  }

  bulkBar() {
    const n = this.selected.size;
    if (!n) return nothing;
    return html`
      <div class="bulk-bar" role="region" aria-label="Selected customers">
        <p><strong>${n}</strong> selected</p>
        ${can("POST", "/customers/assign") ? html`<button type="button" @click=${() => this.openBulk("assign")}>Assign staff…</button>` : nothing}
        ${can("POST", "/customers/delete") ? html`<button type="button" class="danger" @click=${() => this.openBulk("delete")}>Delete…</button>` : nothing}
        <button type="button" class="link" @click=${() => { this.selected.clear(); update(); }}>Clear selection</button>
      </div>`;
  }

  table() {
    const columns = this.columns;
    const items = this.result ? this.result.items : [];
    const allOnPage = items.length > 0 && items.every((c) => this.selected.has(c.id));
    const someOnPage = items.some((c) => this.selected.has(c.id));
    const selectable = canActInBulk();
    return html`
      <p class="result-summary" aria-hidden="true">${this.searching || this.typing ? "Searching…" : this.error ? "" : this.summary()}</p>
      ${this.error && !(this.error instanceof ApiError && this.error.field("q")) ? html`<div class="error-summary" role="alert">
        <p>${describe(this.error)}</p><button type="button" @click=${() => this.search({ keepPage: true })}>Try again</button></div>` : nothing}
      <div class="table-scroll" aria-busy=${this.searching ? "true" : "false"}>
        <table class="customers">
          <caption class="visually-hidden">Customers found; column headers can be resized with the arrow keys</caption>
          <colgroup>
            ${selectable ? html`<col class="select-col">` : nothing}
            <col data-column="name" .style=${`width:${this.width(NAME_WIDTH_KEY)}px`}>
            ${columns.map((c) => html`<col data-column=${c} .style=${`width:${this.width(c)}px`}>`)}
          </colgroup>
          <thead><tr>
            ${selectable ? html`<th scope="col" class="select"><input type="checkbox" id="select-page" aria-label="Select every customer on this page"
              .checked=${allOnPage} .indeterminate=${someOnPage && !allOnPage} ?disabled=${!items.length}
              @change=${(e) => this.togglePage(e.target.checked)}></th>` : nothing}
            ${this.header(NAME_WIDTH_KEY, "Customer")}
            ${columns.map((c) => this.header(c, COLUMNS[c][0]))}
          </tr></thead>
          <tbody>
            ${items.map((c) => html`
              <tr class=${this.selected.has(c.id) ? "selected" : ""} @dblclick=${() => navigate(`#/customers/${c.id}`)}>
                ${selectable ? html`<td class="select"><input type="checkbox" id="select-${c.id}" aria-label="Select ${customerName(c)} (${c.customer_number})"
                  .checked=${this.selected.has(c.id)} @change=${(e) => this.toggleRow(c, e.target.checked)}></td>` : nothing}
                <th scope="row"><a href="#/customers/${c.id}">${customerName(c)}</a></th>
                ${columns.map((col) => html`<td>${COLUMNS[col][1](c)}</td>`)}
              </tr>`)}
          </tbody>
        </table>
        ${this.result && !items.length && !this.searching ? html`<p class="empty">${this.summary()}
          ${this.q.trim() ? " Check the spelling, search more columns with the gear, or widen the registration window." : " Widen the registration window or search by keyword."}</p>` : nothing}
      </div>`;
  }

  header(column, label) {
    const width = this.width(column);
    const onKey = (e) => {
      const step = e.shiftKey ? 50 : 10;
      if (e.key === "ArrowLeft") this.setWidth(column, width - step);
      else if (e.key === "ArrowRight") this.setWidth(column, width + step);
      else return;
      e.preventDefault();
    };
    const onDown = (e) => {
      e.preventDefault();
      const startX = e.clientX;
      const move = (m) => this.setWidth(column, width + m.clientX - startX);
      const up = () => {
        window.removeEventListener("pointermove", move);
        window.removeEventListener("pointerup", up);
      };
      window.addEventListener("pointermove", move);
      window.addEventListener("pointerup", up);
    };
    return html`<th scope="col"><span class="th-label">${label}</span><span class="resizer" role="separator"
      aria-orientation="vertical" tabindex="0" aria-label="Width of the ${label} column"
      aria-valuemin=${MIN_WIDTH} aria-valuemax=${MAX_WIDTH} aria-valuenow=${width}
      @keydown=${onKey} @pointerdown=${onDown}></span></th>`;
  }

  pager() {
    if (!this.result) return nothing;
    const hasNext = Boolean(this.result.next_cursor);
    if (!hasNext && this.page === 0) return nothing;
    return html`<nav class="pager" aria-label="Pages of customers">
      <button type="button" ?disabled=${this.page === 0 || this.searching || this.typing} @click=${() => this.search({ page: this.page - 1 })}>Previous page</button>
      <span>Page ${this.page + 1}</span>
      <button type="button" ?disabled=${!hasNext || this.searching || this.typing} @click=${() => this.search({ page: this.page + 1 })}>Next page</button>
    </nav>`;
  }

  bulkDialog() {
    const bulk = this.bulk;
    if (!bulk) return nothing;
    const n = bulk.ids.length;
    const done = () => { this.bulk = null; };
    const names = bulk.names;
    const listed = html`<ul class="names">${names.slice(0, 10).map((name) => html`<li>${name}</li>`)}
      ${names.length > 10 ? html`<li>and ${names.length - 10} more</li>` : nothing}</ul>`;
    const outcomes = bulk.outcomes ? html`<div role="status" class="outcomes"><p>${outcomeSummary(bulk.outcomes)}</p>
      <ul>${bulk.outcomes.filter((o) => o.outcome === "refused").map((o) => html`<li>${o.message}</li>`)}</ul></div>` : nothing;
    const error = bulk.error ? html`<div class="error-summary" role="alert"><p>${describe(bulk.error)}</p></div>` : nothing;
    if (bulk.kind === "delete") {
      return modal({
        id: "bulk-delete", title: `Delete ${n} customer${n === 1 ? "" : "s"}?`, onClose: done,
        body: html`${listed}
          <p>Customers with transactions cannot be deleted; they are listed as refused.</p>
          ${checkbox({ id: "bulk-delete-history", label: "Delete their history too", checked: bulk.deleteHistory,
            hint: "We recommend keeping the history: it is the record of what happened.", onChange: (on) => { bulk.deleteHistory = on; update(); } })}
          ${error}${outcomes}
          <div class="actions">
            ${bulk.outcomes ? nothing : html`<button type="button" class="danger" ?disabled=${bulk.busy} @click=${() => this.runBulk()}>Delete ${n}</button>`}
            <button type="button" data-autofocus @click=${(e) => close(e.target, done)}>${bulk.outcomes ? "Close" : "Cancel"}</button>
          </div>`,
      });
    }
    return modal({
      id: "bulk-assign", title: `Assign staff to ${n} customer${n === 1 ? "" : "s"}`, onClose: done,
      body: html`${listed}
        ${selectField({ id: "bulk-staff", label: "Staff member", value: bulk.staff,
          choices: app.directory.map((s) => [s.username, staffLabel(s.username)]), onChange: (v) => { bulk.staff = v; update(); } })}
        <fieldset class="inline"><legend>Do</legend>
          <div class="field checkbox"><input type="radio" id="bulk-do-assign" name="bulk-do" .checked=${bulk.assign}
            @change=${() => { bulk.assign = true; update(); }}><label for="bulk-do-assign">Assign</label></div>
          <div class="field checkbox"><input type="radio" id="bulk-do-unassign" name="bulk-do" .checked=${!bulk.assign}
            @change=${() => { bulk.assign = false; update(); }}><label for="bulk-do-unassign">Unassign</label></div>
        </fieldset>
        ${error}${outcomes}
        <div class="actions">
          ${bulk.outcomes ? nothing : html`<button type="button" class="primary" ?disabled=${bulk.busy || !bulk.staff}
            @click=${() => this.runBulk()}>${bulk.assign ? "Assign" : "Unassign"}</button>`}
          <button type="button" data-autofocus @click=${(e) => close(e.target, done)}>${bulk.outcomes ? "Close" : "Cancel"}</button>
        </div>`,
    });
  }
}

// Rows are selected only for what the user may do with them in bulk.
function canActInBulk() {
  return can("POST", "/customers/assign") || can("POST", "/customers/delete");
}

const OUTCOMES = ["deleted", "assigned", "unassigned", "unchanged", "refused"];

export function outcomeSummary(outcomes) {
  const counts = OUTCOMES.map((kind) => [kind, outcomes.filter((o) => o.outcome === kind).length]);
  return `${counts.filter(([, n]) => n).map(([kind, n]) => `${n} ${kind}`).join(", ")}.`;
}

// "/" anywhere on the list (outside a text field) goes to the search box.
window.addEventListener("keydown", (e) => {
  if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
  const target = e.target;
  if (target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))) return;
  const box = document.getElementById("keyword");
  if (box) {
    e.preventDefault();
    box.focus();
  }
});
