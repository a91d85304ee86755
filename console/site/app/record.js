// The customer record: the overview (contact details, status, balance with its refresh, membership,
// assigned staff), the operator notices that pop up when it opens, the tabs, and the record's actions
// (merge, delete, assign staff).
import { html, nothing } from "../vendor/lit-html.js";
import { ApiError, api, describe } from "./api.js";
import { announce, app, busyWhile, can, customerName, navigate, staffLabel, update } from "./core.js";
import { CustomerFinder } from "./finder.js";
import { TABS } from "./tabs.js";
import { checkbox, close, day, loadFailed, loading, modal, selectField, statusBadge, value, when, words } from "./ui.js";

const BASE = "/customers/{customer_id}";

export class RecordScreen {
  constructor(id, tab) {
    this.kind = "record";
    this.id = id;
    this.tab = null;
    this.customer = null;
    this.error = null;
    this.balance = undefined; // undefined: not loaded; null: none
    this.balanceError = null;
    this.refreshing = false;
    this.membership = undefined;
    this.notices = null; // operator notices popped up on opening
    this.dialog = null; // "merge" | "delete" | "staff"
    this.tabs = {};
    this.select(tab);
  }

  title() {
    return this.customer ? `${customerName(this.customer)} (${this.customer.customer_number})` : "Customer";
  }

  path(suffix = "") {
    return `/customers/${this.id}${suffix}`;
  }

  visibleTabs() {
    return TABS.filter((t) => !t.needs || t.needs.some(([method, path]) => can(method, BASE + path)));
  }

  select(tab) {
    const visible = this.visibleTabs();
    const found = visible.find((t) => t.id === tab) || visible[0];
    if (this.tab === found.id) return;
    this.tab = found.id;
    if (!this.tabs[found.id]) this.tabs[found.id] = new found.Tab(this);
    if (this.customer) this.tabs[found.id].load();
    update();
  }

  enter() {
    this.load(true);
  }

  async load(popNotices = false) {
    try {
      const customer = await api("GET", this.path());
      this.customer = customer;
      this.error = null;
      if (popNotices && customer.operator_notices && customer.operator_notices.length) this.notices = customer.operator_notices;
      document.title = `${this.title()} — staff console`;
      this.loadOverview();
      const tab = this.tabs[this.tab];
      if (tab && !tab.loaded) tab.load();
    } catch (error) {
      this.error = error;
    }
    update();
  }

  // After a change elsewhere on the record: the profile again (its version, status, staff), quietly.
  async reloadCustomer() {
    try {
      this.customer = await api("GET", this.path());
    } catch (error) {
      app.banner = { kind: "error", text: describe(error) };
    }
    update();
  }

  loadOverview() {
    if (can("GET", `${BASE}/balance`)) {
      api("GET", this.path("/balance"))
        .then((b) => { this.balance = b; this.balanceError = null; })
        .catch((e) => { this.balance = null; this.balanceError = e instanceof ApiError && e.status === 404 ? null : e; })
        .finally(update);
    }
    if (can("GET", `${BASE}/membership`)) this.loadMembership();
  }

  loadMembership() {
    return api("GET", this.path("/membership"))
      .then((m) => { this.membership = m; })
      .catch(() => { this.membership = null; })
      .finally(update);
  }

  async refreshBalance() {
    this.refreshing = true;
    this.balanceError = null;
    update();
    try {
      this.balance = await api("POST", this.path("/balance/refresh"));
      announce(`Balance refreshed: ${this.balance.balance} ${this.balance.currency}`);
    } catch (error) {
      this.balanceError = error;
    }
    this.refreshing = false;
    update();
  }

  // ---- view ------------------------------------------------------------------------------------------

  view() {
    if (this.error) {
      const gone = this.error instanceof ApiError && this.error.status === 404;
      return html`<h1 tabindex="-1" data-page-title>${gone ? "Customer not found" : "Customer"}</h1>
        ${gone ? html`<p>There is no customer with this id: it may have been deleted. <a href="#/customers">Back to the list</a>.</p>`
          : loadFailed(this.error, () => this.load(true))}`;
    }
    const c = this.customer;
    if (!c) return html`<h1 tabindex="-1" data-page-title>Customer</h1>${loading()}`;
    return html`
      <p class="breadcrumb"><a href="#/customers">Customers</a> › ${c.customer_number}</p>
      <div class="record-title">
        <h1 tabindex="-1" data-page-title>${customerName(c)}</h1>
        <p class="subtitle">${c.customer_number} · ${c.type === "organization" ? "Organisation" : "Individual"} · ${statusBadge(c)}</p>
        <div class="record-actions">
          ${c.status !== "merged" && can("PUT", `${BASE}/staff`) ? html`<button type="button" @click=${() => this.open("staff")}>Assign staff…</button>` : nothing}
          ${c.status !== "merged" && can("POST", `${BASE}/merge`) ? html`<button type="button" @click=${() => this.open("merge")}>Merge…</button>` : nothing}
          ${can("DELETE", BASE) ? html`<button type="button" class="danger" @click=${() => this.open("delete")}>Delete…</button>` : nothing}
        </div>
      </div>
      ${c.status === "merged" ? html`<div class="banner info" role="status"><p>This customer was merged into
        <a href="#/customers/${c.merged_into}">another customer</a> and takes no more changes.</p></div>` : nothing}
      ${this.overview(c)}
      ${this.tabList()}
      <div role="tabpanel" id="record-panel" aria-labelledby="tab-${this.tab}" tabindex="0" class="tab-panel">
        ${this.tabs[this.tab].view()}
      </div>
      ${this.noticesDialog()}${this.dialogView()}`;
  }

  overview(c) {
    const address = c.address ? [c.address.line1, c.address.line2, c.address.city, c.address.county, c.address.postcode, c.address.country]
      .filter(Boolean).join(", ") : "";
    return html`
      <section class="overview" aria-labelledby="overview-title">
        <h2 id="overview-title" class="visually-hidden">Overview</h2>
        <div class="card">
          <h3>Contact</h3>
          <dl>
            <dt>Email</dt><dd>${c.email ? html`<a href="mailto:${c.email}">${c.email}</a>` : "—"}</dd>
            <dt>Phone</dt><dd>${value(c.phone)}</dd>
            <dt>Address</dt><dd>${address || "—"}</dd>
            <dt>Username</dt><dd>${value(c.username)}</dd>
            <dt>Registered</dt><dd>${when(c.created_at)}</dd>
          </dl>
        </div>
        ${this.balanceCard()}
        <div class="card">
          <h3>Membership</h3>
          ${this.membership === undefined ? (can("GET", `${BASE}/membership`) ? loading() : html`<p>—</p>`)
            : this.membership ? html`<dl><dt>Programme</dt><dd>${this.membership.programme}</dd>
              <dt>Expires</dt><dd>${day(this.membership.expires_on)}</dd>
              <dt>Benefit groups</dt><dd>${value(this.membership.benefit_groups.map((g) => g.name))}</dd></dl>`
              : html`<p>No membership.</p>`}
        </div>
        <div class="card">
          <h3>Assigned staff</h3>
          ${c.assigned_staff.length ? html`<ul class="plain">${c.assigned_staff.map((s) => html`<li>${staffLabel(s)}</li>`)}</ul>`
            : html`<p>Nobody yet.</p>`}
        </div>
      </section>`;
  }

  balanceCard() {
    if (!can("GET", `${BASE}/balance`)) return nothing;
    const b = this.balance;
    return html`
      <div class="card balance" aria-busy=${this.refreshing ? "true" : "false"}>
        <h3>Balance</h3>
        ${b === undefined ? loading() : b ? html`
          <p class="amount">${b.balance} <span class="currency">${b.currency}</span></p>
          <dl>
            <dt>Outstanding</dt><dd>${b.outstanding}</dd>
            <dt>Credit</dt><dd>${b.credit}</dd>
            <dt>Overdue invoices</dt><dd>${b.overdue_invoices} of ${b.open_invoices} open</dd>
            <dt>Refreshed</dt><dd>${b.refreshed_at ? when(b.refreshed_at) : "never"}${b.changed_since_refresh ? " (money has changed since)" : ""}</dd>
          </dl>` : html`<p>No money recorded.</p>`}
        ${this.balanceError ? html`<p class="field-error" role="alert">${describe(this.balanceError)}</p>` : nothing}
        ${can("POST", `${BASE}/balance/refresh`) ? html`<button type="button" class="icon" ?disabled=${this.refreshing}
          @click=${() => this.refreshBalance()}><span aria-hidden="true">↻</span> ${this.refreshing ? "Refreshing…" : "Refresh balance"}</button>` : nothing}
        <p class="hint">The balance is brought up to date every night.</p>
      </div>`;
  }

  tabList() {
    const tabs = this.visibleTabs();
    const onKey = (e, index) => {
      const moves = { ArrowRight: 1, ArrowLeft: -1, Home: -index, End: tabs.length - 1 - index };
      if (!(e.key in moves)) return;
      e.preventDefault();
      const next = tabs[(index + moves[e.key] + tabs.length) % tabs.length];
      navigate(`#/customers/${this.id}/${next.id}`);
      update(() => { const el = document.getElementById(`tab-${next.id}`); if (el) el.focus(); });
    };
    return html`<div class="tabs" role="tablist" aria-label="Customer details">
      ${tabs.map((t, i) => html`<a role="tab" id="tab-${t.id}" href="#/customers/${this.id}/${t.id}"
        aria-selected=${this.tab === t.id ? "true" : "false"} aria-controls="record-panel"
        tabindex=${this.tab === t.id ? "0" : "-1"} @keydown=${(e) => onKey(e, i)}>${t.label}</a>`)}
    </div>`;
  }

  // ---- operator notices ---------------------------------------------------------------------------

  noticesDialog() {
    if (!this.notices) return nothing;
    const done = () => { this.notices = null; };
    return modal({
      id: "operator-notice", title: "Operator notice", alert: true, onClose: done,
      body: html`<p class="hint">About ${customerName(this.customer)}:</p>
        <ul class="notices">${this.notices.map((n) => html`<li><p>${n.text}</p><p class="hint">${staffLabel(n.updated_by)}, ${when(n.updated_at)}</p></li>`)}</ul>
        <div class="actions"><button type="button" class="primary" data-autofocus @click=${(e) => close(e.target, done)}>OK</button></div>`,
    });
  }

  // ---- actions: merge, delete, assign staff -------------------------------------------------------

  open(kind) {
    const c = this.customer;
    this.dialog = { kind, busy: false, error: null };
    if (kind === "merge") Object.assign(this.dialog, { into: true, finder: new CustomerFinder(this.id), preview: null });
    if (kind === "delete") this.dialog.deleteHistory = false;
    if (kind === "staff") this.dialog.staff = [c.assigned_staff[0] || "", c.assigned_staff[1] || ""];
    update();
  }

  dialogView() {
    const d = this.dialog;
    if (!d) return nothing;
    const done = () => { this.dialog = null; };
    const error = d.error ? html`<div class="error-summary" role="alert"><p>${describe(d.error)}</p>
      ${d.error instanceof ApiError && d.error.fields.length ? html`<ul>${d.error.fields.map((f) => html`<li>${words(f.field)}: ${f.message}</li>`)}</ul>` : nothing}</div>` : nothing;
    const cancel = html`<button type="button" @click=${(e) => close(e.target, done)}>Cancel</button>`;
    const name = customerName(this.customer);
    if (d.kind === "delete") {
      return modal({
        id: "delete-customer", title: `Delete ${name}?`, onClose: done,
        body: html`<p>${name} (${this.customer.customer_number}) and its notes, tasks, benefits and links go. A customer with
          invoices, payments or purchases cannot be deleted.</p>
          ${checkbox({ id: "delete-history", label: "Delete the customer's history too", checked: d.deleteHistory,
            hint: "We recommend keeping it: it is the record of what happened, and of who deleted the customer.",
            onChange: (on) => { d.deleteHistory = on; update(); } })}
          ${error}
          <div class="actions"><button type="button" class="danger" ?disabled=${d.busy} @click=${() => this.remove()}>Delete</button>
            <button type="button" data-autofocus @click=${(e) => close(e.target, done)}>Cancel</button></div>`,
      });
    }
    if (d.kind === "staff") {
      const choices = [["", "Nobody"], ...app.directory.map((s) => [s.username, staffLabel(s.username)])];
      for (const current of d.staff) if (current && !choices.some(([u]) => u === current)) choices.push([current, `${current} (not in the directory)`]);
      return modal({
        id: "assign-staff", title: `Assigned staff of ${name}`, onClose: done,
        body: html`<p class="hint">At most two staff members work with a customer.</p>
          ${selectField({ id: "staff-1", label: "First staff member", value: d.staff[0], choices, onChange: (v) => { d.staff[0] = v; update(); } })}
          ${selectField({ id: "staff-2", label: "Second staff member", value: d.staff[1], choices, onChange: (v) => { d.staff[1] = v; update(); } })}
          ${error}
          <div class="actions"><button type="button" class="primary" ?disabled=${d.busy} @click=${() => this.saveStaff()}>Save</button>${cancel}</div>`,
      });
    }
    return this.mergeDialog(d, done, error, cancel);
  }

  mergeDialog(d, done, error, cancel) {
    const name = customerName(this.customer);
    const p = d.preview;
    const chosen = d.finder.chosen;
    const body = html`
      <fieldset class="inline"><legend>Which way</legend>
        <div class="field checkbox"><input type="radio" name="merge-way" id="merge-into-this" .checked=${d.into}
          @change=${() => { d.into = true; d.preview = null; update(); }}><label for="merge-into-this">Merge another customer into ${name}</label></div>
        <div class="field checkbox"><input type="radio" name="merge-way" id="merge-this-into" .checked=${!d.into}
          @change=${() => { d.into = false; d.preview = null; update(); }}><label for="merge-this-into">Merge ${name} into another customer</label></div>
      </fieldset>
      ${d.finder.view("merge-find", d.into ? "The customer to merge into this one" : "The customer to merge this one into",
        () => { d.preview = null; d.error = null; })}
      ${p ? html`
        <section class="preview" aria-labelledby="merge-preview-title" tabindex="-1" data-merge-preview>
          <h3 id="merge-preview-title">What will happen</h3>
          <p><strong>${customerName(p.source)} (${p.source.customer_number})</strong> will be merged into
            <strong>${customerName(p.target)} (${p.target.customer_number})</strong>: it will be marked merged, point to
            ${customerName(p.target)}, take no more changes and leave search.</p>
          <ul>
            ${Object.entries(p.moves).length ? Object.entries(p.moves).map(([k, n]) => html`<li>${moveLabel(k, n)}</li>`)
              : html`<li>Nothing else is kept with ${customerName(p.source)}.</li>`}
            <li>Points: ${p.points.source} + ${p.points.target} = ${p.points.after} on ${customerName(p.target)}.</li>
            ${Object.entries(p.released).map(([k, v]) => html`<li>Its ${k} “${v}” is released.</li>`)}
          </ul>
        </section>` : nothing}
      ${error}
      <div class="actions">
        ${p ? html`<button type="button" class="danger" ?disabled=${d.busy} @click=${() => this.merge()}>Merge</button>`
          : html`<button type="button" class="primary" ?disabled=${d.busy || !chosen} @click=${() => this.previewMerge()}>Show what will move</button>`}
        ${cancel}
      </div>`;
    return modal({ id: "merge-customers", title: `Merge ${name}`, onClose: done, body, wide: true });
  }

  pair() {
    const other = this.dialog.finder.chosen.id;
    return this.dialog.into ? [this.id, other] : [other, this.id];
  }

  async previewMerge() {
    const d = this.dialog;
    const [target, source] = this.pair();
    await busyWhile(d, async () => {
      d.preview = await api("POST", `/customers/${target}/merge/preview`, { body: { source_id: source } });
      update(() => { const el = document.querySelector("[data-merge-preview]"); if (el) el.focus(); });
    });
  }

  async merge() {
    const d = this.dialog;
    const [target, source] = this.pair();
    await busyWhile(d, async () => {
      await api("POST", `/customers/${target}/merge`, { body: { source_id: source } });
      this.dialog = null;
      app.banner = { kind: "info", text: `Merged ${customerName(d.preview.source)} into ${customerName(d.preview.target)}.` };
      if (target !== this.id) {
        navigate(`#/customers/${target}`);
        return;
      }
      const tab = this.tab;
      this.tabs = {};
      this.tab = null;
      this.select(tab);
      await this.load();
    });
  }

  async remove() {
    const d = this.dialog;
    await busyWhile(d, async () => {
      await api("DELETE", this.path(), { query: { delete_history: d.deleteHistory ? "true" : "false" } });
      this.dialog = null;
      app.banner = { kind: "info", text: `Deleted ${customerName(this.customer)} (${this.customer.customer_number})${d.deleteHistory ? " and its history" : ""}.` };
      navigate("#/customers");
    });
  }

  async saveStaff() {
    const d = this.dialog;
    await busyWhile(d, async () => {
      this.customer = { ...this.customer, ...(await api("PUT", this.path("/staff"), { body: { staff: d.staff.filter(Boolean) } })) };
      this.dialog = null;
      announce("Assigned staff saved");
      update(() => { const el = document.querySelector(".record-actions button"); if (el) el.focus(); });
    });
  }
}

const MOVES = {
  notes: ["note", "notes"], tasks: ["touch point", "touch points"], benefits: ["account benefit", "account benefits"],
  relationships: ["relationship", "relationships"], memberships: ["membership", "memberships"],
  points_entries: ["points entry", "points entries"], history: ["history entry", "history entries"],
  invoices: ["invoice", "invoices"], payments: ["payment", "payments"], purchases: ["purchase", "purchases"],
};

function moveLabel(kind, n) {
  if (kind === "relationships_dropped") {
    return `${n} relationship${n === 1 ? "" : "s"} the other customer already has (dropped)`;
  }
  const [one, many] = MOVES[kind] || [words(kind), words(kind)];
  return `${n} ${n === 1 ? one : many} move${n === 1 ? "s" : ""}`;
}
