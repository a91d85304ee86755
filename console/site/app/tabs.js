// The customer record's tabs. Each loads what it shows when it is opened and sends each change to the API
// as it is; what the API refuses is shown beside the field that caused it, and the form keeps what was typed.
import { html, nothing } from "../vendor/lit-html.js";
import { ApiError, api, describe } from "./api.js";
import { announce, app, can, customerName, staffLabel, update } from "./core.js";
import { CustomerFinder } from "./finder.js";
import {
  STATUS_LABELS, checkbox, day, errorSummary, focusErrorSummary, loadFailed, loading, selectField, textArea, textField,
  value, when, words,
} from "./ui.js";

const BASE = "/customers/{customer_id}";
const allowed = (method, path = "") => can(method, BASE + path);

class Tab {
  constructor(record) {
    this.record = record;
    this.loaded = false;
    this.error = null;
  }

  get customer() {
    return this.record.customer;
  }

  path(suffix = "") {
    return this.record.path(suffix);
  }

  async load() {
    this.loaded = true;
    this.error = null;
    update();
    try {
      await this.fetch();
    } catch (error) {
      this.error = error;
    }
    update();
  }

  async fetch() {}

  view() {
    if (this.error) return loadFailed(this.error, () => this.load());
    return this.content();
  }

  // Run a change: `busy` while it runs; its error kept on `key` for the form to show.
  async run(key, action, { success, focusSummary = true } = {}) {
    this[key] = null;
    this.busy = true;
    update();
    try {
      const result = await action();
      if (success) announce(success);
      this.busy = false;
      update();
      return result ?? true;
    } catch (error) {
      this[key] = error;
      this.busy = false;
      if (focusSummary) focusErrorSummary();
      update();
      return false;
    }
  }
}

function readOnlyNote(what) {
  return html`<p class="hint">You can read ${what} but not change it.</p>`;
}

// ---- General ------------------------------------------------------------------------------------------

const PERSON_FIELDS = [
  ["first_name", "First name", { required: true, autocomplete: "off" }],
  ["last_name", "Last name", { required: true }],
  ["organization_name", "Organisation", { hint: "The organisation the person belongs to" }],
];
const ORGANIZATION_FIELDS = [["organization_name", "Organisation name", { required: true }]];
const CONTACT_FIELDS = [
  ["email", "Email", { type: "email" }],
  ["phone", "Phone", { type: "tel", hint: "6 to 20 digits; +, spaces, brackets, dots and dashes allowed" }],
];
const BIRTH_FIELD = ["date_of_birth", "Date of birth", { type: "date" }];
export const ADDRESS_FIELDS = [
  ["address.line1", "Address line 1"], ["address.line2", "Address line 2"], ["address.city", "Town or city"],
  ["address.county", "County"], ["address.postcode", "Postcode"],
  ["address.country", "Country", { hint: "Two-letter code, e.g. GB", maxlength: 2 }],
];

export function fieldsOf(type) {
  const names = type === "organization" ? ORGANIZATION_FIELDS : PERSON_FIELDS;
  return [...names, ...CONTACT_FIELDS, ...(type === "organization" ? [] : [BIRTH_FIELD]), ...ADDRESS_FIELDS];
}

export function flatten(customer) {
  const flat = {};
  for (const [path] of [...PERSON_FIELDS, ...ORGANIZATION_FIELDS, ...CONTACT_FIELDS, BIRTH_FIELD, ...ADDRESS_FIELDS]) {
    const [top, part] = path.split(".");
    const v = part ? customer[top] && customer[top][part] : customer[top];
    flat[path] = v === null || v === undefined ? "" : String(v);
  }
  return flat;
}

export function answersOf(answers) {
  return Object.entries(answers || {}).map(([key, v]) => ({
    key, kind: typeof v === "boolean" ? "bool" : typeof v === "number" ? "number" : "text", value: v === null ? "" : v,
  }));
}

export function answersValue(rows) {
  const out = {};
  for (const row of rows) {
    const key = row.key.trim();
    if (!key) continue;
    if (row.kind === "bool") out[key] = Boolean(row.value);
    else if (row.kind === "number") out[key] = row.value === "" ? null : Number(row.value);
    else out[key] = row.value === "" ? null : String(row.value);
  }
  return out;
}

export function answersEditor(rows, { idPrefix, error, readonly, onChange }) {
  return html`
    <fieldset class="answers"><legend>Customer questions</legend>
      ${rows.length ? nothing : html`<p class="hint">No answers yet.</p>`}
      ${rows.map((row, i) => {
        const id = `${idPrefix}-answer-${i}`;
        const message = error instanceof ApiError ? error.field(`answers.${row.key}`) : null;
        const question = row.isNew ? textField({ id: `${id}-key`, label: "Question", value: row.key, readonly,
          onInput: (v) => { row.key = v; onChange(); } }) : nothing;
        const label = row.isNew ? "Answer" : words(row.key);
        const input = row.kind === "bool"
          ? checkbox({ id, label, checked: row.value, disabled: readonly, message, onChange: (on) => { row.value = on; onChange(); } })
          : textField({ id, label, value: row.value, type: row.kind === "number" ? "number" : "text", readonly, message,
            onInput: (v) => { row.value = v; onChange(); } });
        return html`<div class="answer-row">${question}${input}
          ${readonly ? nothing : html`<button type="button" class="link" @click=${() => { rows.splice(i, 1); onChange(); }}>
            Remove<span class="visually-hidden"> the answer to ${row.key || "the new question"}</span></button>`}</div>`;
      })}
      ${readonly ? nothing : html`<button type="button" class="secondary" @click=${() => { rows.push({ key: "", kind: "text", value: "", isNew: true }); onChange(); }}>Add an answer</button>`}
    </fieldset>`;
}

class GeneralTab extends Tab {
  constructor(record) {
    super(record);
    this.reset(record.customer);
  }

  reset(customer) {
    this.base = customer;
    this.draft = customer ? flatten(customer) : {};
    this.answers = customer ? answersOf(customer.answers) : [];
    this.username = "";
    this.saveError = null;
    this.duplicates = null;
  }

  async fetch() {
    if (!this.base || this.base.version !== this.customer.version) {
      if (!this.dirty().length) this.reset(this.customer);
    }
  }

  dirty() {
    if (!this.base) return [];
    const before = flatten(this.base);
    const changed = Object.keys(this.draft).filter((p) => this.draft[p] !== before[p]);
    if (JSON.stringify(answersValue(this.answers)) !== JSON.stringify(this.base.answers || {})) changed.push("answers");
    if (this.username.trim()) changed.push("username");
    return changed;
  }

  patch(confirmDuplicate) {
    const body = { version: this.base.version };
    for (const path of this.dirty()) {
      if (path === "answers") body.answers = answersValue(this.answers);
      else if (path === "username") body.username = this.username.trim();
      else {
        const raw = this.draft[path];
        const v = raw.trim() === "" ? null : raw;
        const [top, part] = path.split(".");
        if (part) body[top] = { ...(body[top] || {}), [part]: v };
        else body[top] = v;
      }
    }
    if (confirmDuplicate) body.confirm_duplicate = true;
    return body;
  }

  async save(confirmDuplicate = false) {
    if (!this.dirty().length) {
      announce("Nothing has changed");
      return;
    }
    this.duplicates = null;
    const saved = await this.run("saveError", () => api("PATCH", this.path(), { body: this.patch(confirmDuplicate) }));
    if (saved) {
      this.record.customer = { ...this.record.customer, ...saved };
      this.reset(this.record.customer);
      this.savedAt = Date.now();
      announce("Saved. The change is in the customer's history.");
      update();
    } else if (this.saveError && this.saveError.code === "possible_duplicate") {
      this.duplicates = this.saveError.details.duplicates || [];
    }
  }

  // After a version conflict: the latest record, with this person's own changes on top (or without them).
  async reloadLatest(keepMine) {
    const mine = {};
    for (const path of this.dirty()) mine[path] = path === "answers" ? this.answers : path === "username" ? this.username : this.draft[path];
    try {
      const latest = await api("GET", this.path());
      this.record.customer = latest;
      this.reset(latest);
      if (keepMine) {
        for (const [path, v] of Object.entries(mine)) {
          if (path === "answers") this.answers = v;
          else if (path === "username") this.username = latest.username ? "" : v;
          else this.draft[path] = v;
        }
      }
      announce(keepMine ? "The latest version is loaded, with your changes on top: check them, then save." : "The latest version is loaded.");
    } catch (error) {
      this.saveError = error;
    }
    update(() => { const el = document.getElementById(fieldsOf(this.base.type)[0][0].replace(".", "-")); if (el) el.focus(); });
  }

  content() {
    const c = this.base;
    if (!c) return loading();
    const readonly = !allowed("PATCH") || c.status === "merged";
    const labels = {};
    const fields = fieldsOf(c.type).map(([path, label, options = {}]) => {
      const id = path.replace(".", "-");
      labels[path] = [id, label];
      return textField({ id, label, path, value: this.draft[path], error: this.saveError, readonly, ...options,
        onInput: (v) => { this.draft[path] = v; update(); } });
    });
    labels.username = ["username", "Username"];
    labels.version = ["general-save", "Version"];
    const conflict = this.saveError && this.saveError.code === "version_conflict";
    const changes = this.dirty().length;
    return html`
      <h2>General</h2>
      ${readonly ? readOnlyNote("this customer's details") : nothing}
      ${conflict ? html`
        <div class="error-summary conflict" role="alert" tabindex="-1" data-error-summary>
          <h3>Someone else changed this customer</h3>
          <p>It was saved by someone else after you opened it (it is now at version ${this.saveError.details.current_version}),
            so your changes were not saved. They are still in the form below.</p>
          <div class="actions">
            <button type="button" class="primary" @click=${() => this.reloadLatest(true)}>Load their version and keep my changes</button>
            <button type="button" @click=${() => this.reloadLatest(false)}>Discard my changes and load their version</button>
          </div>
        </div>` : this.duplicates ? html`
        <div class="error-summary warning" role="alert" tabindex="-1" data-error-summary>
          <h3>This may be a customer we already have</h3>
          <p>${describe(this.saveError)}</p>
          <ul>${this.duplicates.map((d) => html`<li><a href="#/customers/${d.id}" target="_blank" rel="noopener">${d.name} (${d.customer_number})</a>
            — ${d.reason === "same_email" ? "the same email" : "the same name and postcode"}</li>`)}</ul>
          <div class="actions"><button type="button" @click=${() => this.save(true)}>Save anyway</button></div>
        </div>` : errorSummary(this.saveError, labels)}
      <form novalidate class="record-form" @submit=${(e) => { e.preventDefault(); this.save(); }}>
        <fieldset><legend>Name</legend>${fields.slice(0, c.type === "organization" ? 1 : 3)}</fieldset>
        <fieldset><legend>Contact</legend>
          ${fields.slice(c.type === "organization" ? 1 : 3, c.type === "organization" ? 3 : 6)}
          ${c.username ? html`<div class="field"><p class="label-like">Username</p><p>${c.username}
            <span class="hint">(a username cannot change once saved)</span></p></div>`
            : textField({ id: "username", label: "Username", path: "username", value: this.username, error: this.saveError, readonly,
              hint: "Unique; it cannot be changed once saved.", onInput: (v) => { this.username = v; update(); } })}
        </fieldset>
        <fieldset><legend>Address</legend>${fields.slice(c.type === "organization" ? 3 : 6)}</fieldset>
        ${answersEditor(this.answers, { idPrefix: "general", error: this.saveError, readonly, onChange: () => update() })}
        ${readonly ? nothing : html`<div class="actions">
          <button type="submit" class="primary" id="general-save" ?disabled=${this.busy}>${this.busy ? "Saving…" : "Save changes"}</button>
          <span class="hint" aria-live="polite">${changes ? `${changes} unsaved change${changes === 1 ? "" : "s"}` : this.savedAt ? "All changes saved." : ""}</span>
        </div>`}
      </form>`;
  }
}

// ---- Related ------------------------------------------------------------------------------------------

const RELATION_LABELS = { contact: "Contact", business: "Business", sold_for: "Sold for", sold_by: "Sold by" };

class RelatedTab extends Tab {
  constructor(record) {
    super(record);
    this.links = null;
    this.adding = { type: "contact", note: "", finder: new CustomerFinder(record.id) };
    this.editing = null; // {id, type, note, version}
  }

  async fetch() {
    this.links = await api("GET", this.path("/relationships"));
  }

  async add() {
    const chosen = this.adding.finder.chosen;
    if (!chosen) {
      this.addError = new ApiError(422, { error: { code: "invalid", message: "choose the related customer first",
        fields: [{ field: "related_id", message: "choose a customer from the search" }] } });
      focusErrorSummary();
      update();
      return;
    }
    const done = await this.run("addError", () => api("POST", this.path("/relationships"), {
      body: { type: this.adding.type, related_id: chosen.id, note: this.adding.note.trim() || undefined },
    }), { success: `Linked ${customerName(chosen)}` });
    if (done) {
      this.adding = { type: "contact", note: "", finder: new CustomerFinder(this.record.id) };
      await this.load();
    }
  }

  async saveEdit() {
    const e = this.editing;
    const done = await this.run("editError", () => api("PATCH", this.path(`/relationships/${e.id}`), {
      body: { version: e.version, type: e.type, note: e.note.trim() || null },
    }), { success: "Relationship saved" });
    if (done) {
      this.editing = null;
      await this.load();
    }
  }

  async removeLink(link) {
    if (!window.confirm(`Remove the link to ${link.related_name}? It goes from both customers.`)) return;
    const done = await this.run("listError", () => api("DELETE", this.path(`/relationships/${link.id}`)),
      { success: `Link to ${link.related_name} removed` });
    if (done) await this.load();
  }

  content() {
    if (!this.links) return loading();
    const canAdd = allowed("POST", "/relationships");
    const canEdit = allowed("PATCH", "/relationships/{relationship_id}");
    const canRemove = allowed("DELETE", "/relationships/{relationship_id}");
    return html`
      <h2>Related customers</h2>
      ${this.listError ? html`<div class="error-summary" role="alert"><p>${describe(this.listError)}</p></div>` : nothing}
      ${this.links.length ? html`
        <table class="data"><caption class="visually-hidden">Related customers</caption>
          <thead><tr><th scope="col">Relationship</th><th scope="col">Customer</th><th scope="col">Number</th><th scope="col">Status</th>
            <th scope="col">Note</th>${canEdit || canRemove ? html`<th scope="col">Change</th>` : nothing}</tr></thead>
          <tbody>${this.links.map((l) => this.editing && this.editing.id === l.id ? this.editRow(l) : html`<tr>
            <td>${RELATION_LABELS[l.type] || l.type}</td>
            <td><a href="#/customers/${l.related_id}">${l.related_name || "(deleted)"}</a></td>
            <td>${value(l.related_number)}</td><td>${STATUS_LABELS[l.related_status] || value(l.related_status)}</td>
            <td>${value(l.note)}</td>
            ${canEdit || canRemove ? html`<td class="row-actions">
              ${canEdit ? html`<button type="button" class="link" @click=${() => { this.editing = { id: l.id, type: l.type, note: l.note || "", version: l.version }; this.editError = null; update(); }}>
                Edit<span class="visually-hidden"> the link to ${l.related_name}</span></button>` : nothing}
              ${canRemove ? html`<button type="button" class="link danger" @click=${() => this.removeLink(l)}>
                Remove<span class="visually-hidden"> the link to ${l.related_name}</span></button>` : nothing}</td>` : nothing}
          </tr>`)}</tbody>
        </table>` : html`<p>No related customers.</p>`}
      ${canAdd ? html`
        <form novalidate class="add-form" @submit=${(e) => { e.preventDefault(); this.add(); }}>
          <h3>Add a related customer</h3>
          ${errorSummary(this.addError, { related_id: ["relate-find", "Related customer"], type: ["relate-type", "Relationship"], note: ["relate-note", "Note"] }, "It was not added")}
          ${selectField({ id: "relate-type", label: "The other customer is this one's", value: this.adding.type, path: "type", error: this.addError,
            choices: [["contact", "Contact"], ["business", "Business"], ["sold_for", "Sold for"]], onChange: (v) => { this.adding.type = v; } })}
          ${this.adding.finder.view("relate-find", "Related customer")}
          ${textField({ id: "relate-note", label: "Note", path: "note", value: this.adding.note, error: this.addError, onInput: (v) => { this.adding.note = v; } })}
          <div class="actions"><button type="submit" class="primary" ?disabled=${this.busy}>Add relationship</button></div>
        </form>` : nothing}`;
  }

  editRow(link) {
    const e = this.editing;
    return html`<tr class="editing"><td colspan="6">
      ${errorSummary(this.editError, {}, "It was not saved")}
      <div class="inline-form">
        ${selectField({ id: "edit-link-type", label: `Relationship to ${link.related_name}`, value: e.type, path: "type", error: this.editError,
          choices: [["contact", "Contact"], ["business", "Business"], ["sold_for", "Sold for"], ["sold_by", "Sold by"]], onChange: (v) => { e.type = v; } })}
        ${textField({ id: "edit-link-note", label: "Note", value: e.note, path: "note", error: this.editError, onInput: (v) => { e.note = v; } })}
        <button type="button" class="primary" @click=${() => this.saveEdit()}>Save</button>
        <button type="button" @click=${() => { this.editing = null; update(); }}>Cancel</button>
      </div></td></tr>`;
  }
}

// ---- Membership and benefit groups ------------------------------------------------------------------------

class MembershipTab extends Tab {
  async fetch() {
    try {
      this.membership = await api("GET", this.path("/membership"));
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
      this.membership = null;
    }
    this.startDraft();
  }

  startDraft() {
    const m = this.membership;
    this.draft = {
      programme: m ? m.programme : "",
      expires_on: m && m.expires_on ? m.expires_on : "",
      groups: m ? m.benefit_groups.map((g) => ({ name: g.name, starts_on: g.starts_on || "", ends_on: g.ends_on || "" })) : [],
      benefits: m ? m.benefits.slice() : [],
    };
    this.saveError = null;
  }

  async save() {
    const d = this.draft;
    const body = {
      programme: d.programme,
      expires_on: d.expires_on || null,
      benefit_groups: d.groups.map((g) => ({ name: g.name, starts_on: g.starts_on || null, ends_on: g.ends_on || null })),
      benefits: d.benefits,
    };
    if (this.membership) body.version = this.membership.version;
    const saved = await this.run("saveError", () => api("PUT", this.path("/membership"), { body }), { success: "Membership saved" });
    if (saved) {
      this.membership = saved;
      this.startDraft();
      this.record.membership = saved;
      update();
    }
  }

  content() {
    if (!this.draft) return loading();
    const readonly = !allowed("PUT", "/membership") || this.customer.status === "merged";
    const d = this.draft;
    const e = this.saveError;
    const conflict = e && e.code === "version_conflict";
    const labels = { programme: ["membership-programme", "Programme"], expires_on: ["membership-expires", "Expires on"] };
    d.groups.forEach((g, i) => {
      labels[`benefit_groups.${i}.name`] = [`group-${i}-name`, `Benefit group ${i + 1} name`];
      labels[`benefit_groups.${i}`] = [`group-${i}-ends`, `Benefit group ${i + 1}`];
    });
    d.benefits.forEach((_, i) => { labels[`benefits.${i}`] = [`benefit-${i}`, `Benefit ${i + 1}`]; });
    return html`
      <h2>Membership and benefit groups</h2>
      ${readonly ? readOnlyNote("the membership") : nothing}
      ${!this.membership ? html`<p>${readonly ? "No membership." : "No membership yet: fill in a programme to start one."}</p>` : html`
        <p class="hint">Last changed by ${staffLabel(this.membership.updated_by)}, ${when(this.membership.updated_at)}.</p>`}
      ${conflict ? html`<div class="error-summary conflict" role="alert" tabindex="-1" data-error-summary>
          <h3>Someone else changed this membership</h3><p>${describe(e)} Your changes are still below; load the latest to start again from it.</p>
          <button type="button" @click=${() => this.load()}>Load the latest membership</button></div>`
        : errorSummary(e, labels)}
      <form novalidate class="record-form" @submit=${(ev) => { ev.preventDefault(); this.save(); }}>
        ${textField({ id: "membership-programme", label: "Programme", path: "programme", required: true, value: d.programme, error: e, readonly, onInput: (v) => { d.programme = v; } })}
        ${textField({ id: "membership-expires", label: "Expires on", path: "expires_on", type: "date", value: d.expires_on, error: e, readonly, onInput: (v) => { d.expires_on = v; } })}
        <fieldset><legend>Benefit groups</legend>
          ${d.groups.length ? nothing : html`<p class="hint">None.</p>`}
          ${d.groups.map((g, i) => html`<div class="row-group">
            ${textField({ id: `group-${i}-name`, label: `Group ${i + 1} name`, path: `benefit_groups.${i}.name`, value: g.name, error: e, readonly, onInput: (v) => { g.name = v; } })}
            ${textField({ id: `group-${i}-starts`, label: "Starts on", path: `benefit_groups.${i}.starts_on`, type: "date", value: g.starts_on, error: e, readonly, onInput: (v) => { g.starts_on = v; } })}
            ${textField({ id: `group-${i}-ends`, label: "Ends on", path: `benefit_groups.${i}.ends_on`, type: "date", value: g.ends_on, readonly,
              message: e instanceof ApiError ? e.field(`benefit_groups.${i}.ends_on`) || e.field(`benefit_groups.${i}`) : null, onInput: (v) => { g.ends_on = v; } })}
            ${readonly ? nothing : html`<button type="button" class="link" @click=${() => { d.groups.splice(i, 1); update(); }}>Remove<span class="visually-hidden"> group ${i + 1}</span></button>`}
          </div>`)}
          ${readonly ? nothing : html`<button type="button" class="secondary" @click=${() => { d.groups.push({ name: "", starts_on: "", ends_on: "" }); update(); }}>Add a benefit group</button>`}
        </fieldset>
        <fieldset><legend>Benefits added by hand</legend>
          ${d.benefits.length ? nothing : html`<p class="hint">None.</p>`}
          ${d.benefits.map((b, i) => html`<div class="row-group">
            ${textField({ id: `benefit-${i}`, label: `Benefit ${i + 1}`, path: `benefits.${i}`, value: b, error: e, readonly, onInput: (v) => { d.benefits[i] = v; } })}
            ${readonly ? nothing : html`<button type="button" class="link" @click=${() => { d.benefits.splice(i, 1); update(); }}>Remove<span class="visually-hidden"> benefit ${i + 1}</span></button>`}
          </div>`)}
          ${readonly ? nothing : html`<button type="button" class="secondary" @click=${() => { d.benefits.push(""); update(); }}>Add a benefit</button>`}
        </fieldset>
        ${readonly ? nothing : html`<div class="actions"><button type="submit" class="primary" ?disabled=${this.busy}>Save membership</button></div>`}
      </form>`;
  }
}

// ---- Web Login ------------------------------------------------------------------------------------------------

class WebLoginTab extends Tab {
  constructor(record) {
    super(record);
    this.username = "";
    this.password = "";
    this.temporary = null; // shown once
    this.resetSentTo = null;
  }

  async setLogin() {
    const body = { password: this.password };
    if (!this.customer.username) body.username = this.username.trim();
    const done = await this.run("loginError", () => api("PUT", this.path("/login"), { body }), { success: "Web login saved" });
    if (done) {
      this.password = "";
      this.savedLogin = done.username;
      await this.record.reloadCustomer();
    }
  }

  async randomPassword() {
    this.temporary = null;
    const done = await this.run("randomError", () => api("POST", this.path("/login/random-password")),
      { success: "A temporary password was made; it is shown once.", focusSummary: false });
    if (done) {
      this.temporary = done;
      update(() => { const el = document.getElementById("temporary-password"); if (el) el.focus(); });
    }
  }

  async resetEmail() {
    const done = await this.run("resetError", () => api("POST", this.path("/login/reset-email")), { focusSummary: false });
    if (done) {
      this.resetSentTo = done.to;
      announce(`A password-reset email is on its way to ${done.to}`);
      update();
    }
  }

  content() {
    const c = this.customer;
    const canSet = allowed("PUT", "/login");
    const canRandom = allowed("POST", "/login/random-password");
    const canReset = allowed("POST", "/login/reset-email");
    const labels = { username: ["login-username", "Username"], password: ["login-password", "Password"] };
    return html`
      <h2>Web login</h2>
      <p>${c.username ? html`Username: <strong>${c.username}</strong> (it cannot change).` : "This customer has no username yet."}</p>
      ${canSet ? html`
        <form novalidate class="record-form" @submit=${(e) => { e.preventDefault(); this.setLogin(); }}>
          <h3>Set the username and password</h3>
          ${errorSummary(this.loginError, labels)}
          ${c.username ? nothing : textField({ id: "login-username", label: "Username", path: "username", value: this.username, error: this.loginError,
            hint: "Unique; it cannot be changed once saved. For example the first initial, last name and the last 4 digits of the phone.",
            onInput: (v) => { this.username = v; } })}
          ${textField({ id: "login-password", label: "New password", path: "password", type: "password", value: this.password, error: this.loginError,
            autocomplete: "new-password", hint: "At least 12 characters; not a common password, nor the username or email.",
            onInput: (v) => { this.password = v; } })}
          ${this.savedLogin && !this.loginError ? html`<p class="success" role="status">The web login of ${this.savedLogin} is saved.</p>` : nothing}
          <div class="actions"><button type="submit" class="primary" ?disabled=${this.busy}>Save login</button></div>
        </form>` : nothing}
      ${canRandom ? html`
        <section class="record-form" aria-labelledby="random-title">
          <h3 id="random-title">Random password</h3>
          <p class="hint">For a customer who forgot their password: a temporary one they must change when they next sign in.</p>
          ${this.randomError ? html`<p class="field-error" role="alert">${describe(this.randomError)}</p>` : nothing}
          ${this.temporary ? html`<div class="once" role="status">
            <p>Temporary password for <strong>${this.temporary.username}</strong>, shown only this once — tell the customer now:</p>
            <p><output id="temporary-password" tabindex="-1" class="secret">${this.temporary.temporary_password}</output></p>
            <button type="button" @click=${() => { this.temporary = null; update(); }}>Hide it</button></div>` : nothing}
          <button type="button" ?disabled=${this.busy} @click=${() => this.randomPassword()}>Make a random password</button>
        </section>` : nothing}
      ${canReset ? html`
        <section class="record-form" aria-labelledby="reset-title">
          <h3 id="reset-title">Reset email</h3>
          <p class="hint">Sends the customer a link to choose a new password${c.email ? html`, to <strong>${c.email}</strong>` : ""}.</p>
          ${this.resetError ? html`<p class="field-error" role="alert">${describe(this.resetError)}</p>` : nothing}
          ${this.resetSentTo ? html`<p class="success" role="status">A reset email is on its way to ${this.resetSentTo}.</p>` : nothing}
          <button type="button" ?disabled=${this.busy} @click=${() => this.resetEmail()}><span aria-hidden="true">✉</span> Send a reset email</button>
        </section>` : nothing}
      ${!canSet && !canRandom && !canReset ? readOnlyNote("the web login") : nothing}`;
  }
}

// ---- Touch Points (tasks) ----------------------------------------------------------------------------------

const TASK_STATUS = [["open", "Open"], ["done", "Done"], ["cancelled", "Cancelled"]];

class TouchPointsTab extends Tab {
  constructor(record) {
    super(record);
    this.draft = this.empty();
  }

  empty() {
    return { title: "", details: "", due_date: "", assignee: app.me ? app.me.username : "" };
  }

  async fetch() {
    this.tasks = await api("GET", this.path("/tasks"));
  }

  async add() {
    const d = this.draft;
    const body = { title: d.title, details: d.details.trim() || undefined, due_date: d.due_date || undefined, assignee: d.assignee || undefined };
    const done = await this.run("addError", () => api("POST", this.path("/tasks"), { body }), { success: "Touch point added" });
    if (done) {
      this.draft = this.empty();
      await this.load();
    }
  }

  async setStatus(task, status) {
    const done = await this.run("listError", () => api("PATCH", this.path(`/tasks/${task.id}`), { body: { version: task.version, status } }),
      { success: `“${task.title}” is ${status}`, focusSummary: false });
    await this.load();
    return done;
  }

  async removeTask(task) {
    if (!window.confirm(`Remove the touch point “${task.title}”?`)) return;
    if (await this.run("listError", () => api("DELETE", this.path(`/tasks/${task.id}`)), { success: "Touch point removed", focusSummary: false })) await this.load();
  }

  content() {
    if (!this.tasks) return loading();
    const canEdit = allowed("PATCH", "/tasks/{task_id}");
    const canRemove = allowed("DELETE", "/tasks/{task_id}");
    const d = this.draft;
    const staff = [["", "Nobody"], ...app.directory.map((s) => [s.username, staffLabel(s.username)])];
    return html`
      <h2>Touch points</h2>
      ${this.listError ? html`<div class="error-summary" role="alert"><p>${describe(this.listError)}</p></div>` : nothing}
      ${this.tasks.length ? html`<table class="data"><caption class="visually-hidden">Touch points</caption>
        <thead><tr><th scope="col">Touch point</th><th scope="col">Due</th><th scope="col">Assigned to</th><th scope="col">Status</th>
          ${canRemove ? html`<th scope="col">Remove</th>` : nothing}</tr></thead>
        <tbody>${this.tasks.map((t) => html`<tr>
          <td><strong>${t.title}</strong>${t.details ? html`<br><span class="hint">${t.details}</span>` : nothing}</td>
          <td>${day(t.due_date)}</td><td>${t.assignee ? staffLabel(t.assignee) : "—"}</td>
          <td>${canEdit ? html`<label class="visually-hidden" for="task-status-${t.id}">Status of ${t.title}</label>
            <select id="task-status-${t.id}" @change=${(e) => this.setStatus(t, e.target.value)}>
              ${TASK_STATUS.map(([v, l]) => html`<option value=${v} ?selected=${t.status === v}>${l}</option>`)}</select>`
            : (TASK_STATUS.find(([v]) => v === t.status) || [, t.status])[1]}</td>
          ${canRemove ? html`<td><button type="button" class="link danger" @click=${() => this.removeTask(t)}>Remove<span class="visually-hidden"> ${t.title}</span></button></td>` : nothing}
        </tr>`)}</tbody></table>` : html`<p>No touch points.</p>`}
      ${allowed("POST", "/tasks") ? html`
        <form novalidate class="add-form" @submit=${(e) => { e.preventDefault(); this.add(); }}>
          <h3>Add a touch point</h3>
          ${errorSummary(this.addError, { title: ["task-title", "Title"], details: ["task-details", "Details"], due_date: ["task-due", "Due"], assignee: ["task-assignee", "Assigned to"] }, "It was not added")}
          ${textField({ id: "task-title", label: "Title", path: "title", required: true, value: d.title, error: this.addError, onInput: (v) => { d.title = v; } })}
          ${textArea({ id: "task-details", label: "Details", path: "details", value: d.details, error: this.addError, onInput: (v) => { d.details = v; } })}
          ${textField({ id: "task-due", label: "Due", path: "due_date", type: "date", value: d.due_date, error: this.addError, onInput: (v) => { d.due_date = v; } })}
          ${selectField({ id: "task-assignee", label: "Assigned to", path: "assignee", value: d.assignee, choices: staff, error: this.addError, onChange: (v) => { d.assignee = v; } })}
          <div class="actions"><button type="submit" class="primary" ?disabled=${this.busy}>Add touch point</button></div>
        </form>` : nothing}`;
  }
}

// ---- Account benefits -------------------------------------------------------------------------------------------

class BenefitsTab extends Tab {
  constructor(record) {
    super(record);
    this.draft = { name: "", description: "", starts_on: "", ends_on: "" };
  }

  async fetch() {
    this.benefits = await api("GET", this.path("/benefits"));
  }

  async add() {
    const d = this.draft;
    const body = { name: d.name, description: d.description.trim() || undefined, starts_on: d.starts_on || undefined, ends_on: d.ends_on || undefined };
    if (await this.run("addError", () => api("POST", this.path("/benefits"), { body }), { success: "Benefit added" })) {
      this.draft = { name: "", description: "", starts_on: "", ends_on: "" };
      await this.load();
    }
  }

  async removeBenefit(b) {
    if (!window.confirm(`Remove the benefit “${b.name}”?`)) return;
    if (await this.run("listError", () => api("DELETE", this.path(`/benefits/${b.id}`)), { success: "Benefit removed", focusSummary: false })) await this.load();
  }

  content() {
    if (!this.benefits) return loading();
    const canRemove = allowed("DELETE", "/benefits/{benefit_id}");
    const d = this.draft;
    const e = this.addError;
    return html`
      <h2>Account benefits</h2>
      ${this.listError ? html`<div class="error-summary" role="alert"><p>${describe(this.listError)}</p></div>` : nothing}
      ${this.benefits.length ? html`<table class="data"><caption class="visually-hidden">Account benefits</caption>
        <thead><tr><th scope="col">Benefit</th><th scope="col">From</th><th scope="col">Until</th>${canRemove ? html`<th scope="col">Remove</th>` : nothing}</tr></thead>
        <tbody>${this.benefits.map((b) => html`<tr><td><strong>${b.name}</strong>${b.description ? html`<br><span class="hint">${b.description}</span>` : nothing}</td>
          <td>${day(b.starts_on)}</td><td>${day(b.ends_on)}</td>
          ${canRemove ? html`<td><button type="button" class="link danger" @click=${() => this.removeBenefit(b)}>Remove<span class="visually-hidden"> ${b.name}</span></button></td>` : nothing}</tr>`)}
        </tbody></table>` : html`<p>No benefits on this account.</p>`}
      ${allowed("POST", "/benefits") ? html`
        <form novalidate class="add-form" @submit=${(ev) => { ev.preventDefault(); this.add(); }}>
          <h3>Add a benefit</h3>
          ${errorSummary(e, { name: ["benefit-name", "Benefit"], body: ["benefit-ends", "Dates"], ends_on: ["benefit-ends", "Until"], starts_on: ["benefit-starts", "From"] }, "It was not added")}
          ${textField({ id: "benefit-name", label: "Benefit", path: "name", required: true, value: d.name, error: e, onInput: (v) => { d.name = v; } })}
          ${textArea({ id: "benefit-description", label: "Description", path: "description", value: d.description, error: e, onInput: (v) => { d.description = v; } })}
          ${textField({ id: "benefit-starts", label: "From", path: "starts_on", type: "date", value: d.starts_on, error: e, onInput: (v) => { d.starts_on = v; } })}
          ${textField({ id: "benefit-ends", label: "Until", path: "ends_on", type: "date", value: d.ends_on, error: e,
            message: e instanceof ApiError ? e.field("ends_on") || e.field("body") : null, onInput: (v) => { d.ends_on = v; } })}
          <div class="actions"><button type="submit" class="primary" ?disabled=${this.busy}>Add benefit</button></div>
        </form>` : nothing}`;
  }
}

// ---- Notes ---------------------------------------------------------------------------------------------------------

class NotesTab extends Tab {
  constructor(record) {
    super(record);
    this.draft = { text: "", operator_notice: false };
    this.editing = null;
  }

  async fetch() {
    this.notes = await api("GET", this.path("/notes"));
  }

  async add() {
    if (await this.run("addError", () => api("POST", this.path("/notes"), { body: this.draft }),
      { success: this.draft.operator_notice ? "Note added; it pops up whenever this customer is opened" : "Note added" })) {
      this.draft = { text: "", operator_notice: false };
      await this.load();
    }
  }

  async saveEdit() {
    const e = this.editing;
    if (await this.run("editError", () => api("PATCH", this.path(`/notes/${e.id}`), { body: { version: e.version, text: e.text, operator_notice: e.operator_notice } }),
      { success: "Note saved" })) {
      this.editing = null;
      await this.load();
    }
  }

  async removeNote(n) {
    if (!window.confirm("Remove this note?")) return;
    if (await this.run("listError", () => api("DELETE", this.path(`/notes/${n.id}`)), { success: "Note removed", focusSummary: false })) await this.load();
  }

  content() {
    if (!this.notes) return loading();
    const canEdit = allowed("PATCH", "/notes/{note_id}");
    const canRemove = allowed("DELETE", "/notes/{note_id}");
    const d = this.draft;
    return html`
      <h2>Notes</h2>
      <p class="hint">Internal notes: the customer never sees them.</p>
      ${this.listError ? html`<div class="error-summary" role="alert"><p>${describe(this.listError)}</p></div>` : nothing}
      ${allowed("POST", "/notes") ? html`
        <form novalidate class="add-form" @submit=${(e) => { e.preventDefault(); this.add(); }}>
          <h3>Add a note</h3>
          ${errorSummary(this.addError, { text: ["note-text", "Note"] }, "It was not added")}
          ${textArea({ id: "note-text", label: "Note", path: "text", required: true, rows: 4, value: d.text, error: this.addError, onInput: (v) => { d.text = v; } })}
          ${checkbox({ id: "note-notice", label: "Operator notice", checked: d.operator_notice,
            hint: "Pops the note up whenever this customer's record is opened, e.g. “A board member: please pay special attention”.",
            onChange: (on) => { d.operator_notice = on; } })}
          <div class="actions"><button type="submit" class="primary" ?disabled=${this.busy}>Add note</button></div>
        </form>` : nothing}
      ${this.notes.length ? html`<ul class="notes">${this.notes.map((n) => this.editing && this.editing.id === n.id ? this.editItem() : html`
        <li class=${n.operator_notice ? "notice" : ""}>
          ${n.operator_notice ? html`<p class="badge notice-badge">Operator notice</p>` : nothing}
          <p class="note-text">${n.text}</p>
          <p class="hint">${staffLabel(n.updated_by)}, ${when(n.updated_at)}</p>
          ${canEdit ? html`<button type="button" class="link" @click=${() => { this.editing = { ...n }; this.editError = null; update(); }}>Edit<span class="visually-hidden"> the note “${n.text.slice(0, 40)}”</span></button>` : nothing}
          ${canRemove ? html`<button type="button" class="link danger" @click=${() => this.removeNote(n)}>Remove<span class="visually-hidden"> the note “${n.text.slice(0, 40)}”</span></button>` : nothing}
        </li>`)}</ul>` : html`<p>No notes.</p>`}`;
  }

  editItem() {
    const e = this.editing;
    return html`<li class="editing">
      ${errorSummary(this.editError, { text: ["edit-note-text", "Note"] })}
      ${this.editError && this.editError.code === "version_conflict" ? html`<p>Someone else changed this note. <button type="button" class="link" @click=${() => { this.editing = null; this.load(); }}>Load the latest notes</button></p>` : nothing}
      ${textArea({ id: "edit-note-text", label: "Note", path: "text", rows: 4, value: e.text, error: this.editError, onInput: (v) => { e.text = v; } })}
      ${checkbox({ id: "edit-note-notice", label: "Operator notice", checked: e.operator_notice, onChange: (on) => { e.operator_notice = on; } })}
      <div class="actions"><button type="button" class="primary" @click=${() => this.saveEdit()}>Save note</button>
        <button type="button" @click=${() => { this.editing = null; update(); }}>Cancel</button></div>
    </li>`;
  }
}

// ---- Points -------------------------------------------------------------------------------------------------------

const POINTS_TYPES = ["loyalty", "bonus", "redemption", "correction"];

class PointsTab extends Tab {
  constructor(record) {
    super(record);
    this.draft = { amount: "", type: "loyalty", reason: "" };
    this.preview = null;
    this.cursors = [null];
    this.page = 0;
  }

  async fetch() {
    this.statement = await api("GET", this.path("/points"), { query: { limit: 10, cursor: this.cursors[this.page] || undefined } });
    this.cursors[this.page + 1] = this.statement.next_cursor;
  }

  adjustment() {
    const d = this.draft;
    return { amount: d.amount === "" ? null : Number(d.amount), type: d.type, reason: d.reason };
  }

  async next() {
    this.preview = null;
    const preview = await this.run("adjustError", () => api("POST", this.path("/points/preview"), { body: this.adjustment() }));
    if (preview) {
      this.preview = preview;
      update(() => { const el = document.getElementById("points-confirm-title"); if (el) el.focus(); });
    }
  }

  async confirm() {
    const entry = await this.run("adjustError", () => api("POST", this.path("/points"), { body: this.adjustment() }));
    if (entry) {
      this.preview = null;
      this.draft = { amount: "", type: this.draft.type, reason: "" };
      this.done = entry;
      this.page = 0;
      this.cursors = [null];
      await this.load();
      announce(`Points adjusted: the balance is now ${entry.balance_after}`);
      update(() => { const el = document.getElementById("points-amount"); if (el) el.focus(); });
    } else {
      this.preview = null;
    }
  }

  content() {
    if (!this.statement) return loading();
    const s = this.statement;
    const d = this.draft;
    const e = this.adjustError;
    const p = this.preview;
    const labels = { amount: ["points-amount", "Points"], type: ["points-type", "Points type"], reason: ["points-reason", "Reason"] };
    return html`
      <h2>Points</h2>
      <p class="amount">Balance: <strong>${s.balance}</strong> points</p>
      ${allowed("POST", "/points") ? html`
        <section class="add-form" aria-labelledby="adjust-title">
          <h3 id="adjust-title">Adjust points</h3>
          ${errorSummary(e, labels, "It was not adjusted")}
          ${this.done && !e && !p ? html`<p class="success" role="status">Adjusted by ${signed(this.done.amount)}: the balance is now ${this.done.balance_after}.</p>` : nothing}
          ${p ? html`
            <div class="confirm" role="group" aria-labelledby="points-confirm-title">
              <h4 id="points-confirm-title" tabindex="-1">Check and confirm</h4>
              <p>${signed(p.amount)} ${d.type} points, because “${d.reason}”.</p>
              <p>The balance goes from <strong>${p.balance}</strong> to <strong>${p.balance_after}</strong>.</p>
              <div class="actions"><button type="button" class="primary" ?disabled=${this.busy} @click=${() => this.confirm()}>Confirm</button>
                <button type="button" @click=${() => { this.preview = null; update(() => document.getElementById("points-amount").focus()); }}>Back</button></div>
            </div>` : html`
            <form novalidate @submit=${(ev) => { ev.preventDefault(); this.next(); }}>
              ${textField({ id: "points-amount", label: "Points", path: "amount", type: "number", inputmode: "numeric", step: 1, required: true,
                hint: "Points to add, or a negative number to remove, e.g. -50", value: d.amount, error: e, onInput: (v) => { d.amount = v; } })}
              ${textField({ id: "points-type", label: "Points type", path: "type", required: true, list: "points-types", value: d.type, error: e, onInput: (v) => { d.type = v; } })}
              <datalist id="points-types">${POINTS_TYPES.map((t) => html`<option value=${t}></option>`)}</datalist>
              ${textField({ id: "points-reason", label: "Reason", path: "reason", required: true, value: d.reason, error: e, onInput: (v) => { d.reason = v; } })}
              <div class="actions"><button type="submit" class="primary" ?disabled=${this.busy}>Next</button></div>
            </form>`}
        </section>` : nothing}
      <h3>Ledger</h3>
      ${s.entries.length ? html`<table class="data"><caption class="visually-hidden">Points ledger, newest first</caption>
        <thead><tr><th scope="col">When</th><th scope="col">By</th><th scope="col">Points</th><th scope="col">Type</th><th scope="col">Reason</th><th scope="col">Balance after</th></tr></thead>
        <tbody>${s.entries.map((x) => html`<tr><td>${when(x.at)}</td><td>${staffLabel(x.by)}</td><td class="num">${signed(x.amount)}</td>
          <td>${x.type}</td><td>${x.reason}</td><td class="num">${x.balance_after}</td></tr>`)}</tbody></table>
        ${pager(this, "Pages of the ledger")}` : html`<p>No points yet.</p>`}`;
  }
}

function signed(n) {
  return n > 0 ? `+${n}` : String(n);
}

function pager(tab, label) {
  if (tab.page === 0 && !tab.cursors[tab.page + 1]) return nothing;
  const go = (page) => { tab.page = page; tab.load(); };
  return html`<nav class="pager" aria-label=${label}>
    <button type="button" ?disabled=${tab.page === 0} @click=${() => go(tab.page - 1)}>Newer</button>
    <span>Page ${tab.page + 1}</span>
    <button type="button" ?disabled=${!tab.cursors[tab.page + 1]} @click=${() => go(tab.page + 1)}>Older</button></nav>`;
}

// ---- Status --------------------------------------------------------------------------------------------------------

const ACTIONS = {
  enroll: ["Enroll", "Makes the customer a member of the loyalty programme."],
  unenroll: ["Un-enroll", "Closes the loyalty membership: no more points or offers, no sign-in, and marketing email is turned off."],
  deactivate: ["Deactivate (hold)", "Puts the account on hold: no sign-in and no points; nothing is lost, and reactivating restores it."],
  reactivate: ["Reactivate", "Takes the account off hold, back to the status it had."],
};

class StatusTab extends Tab {
  async fetch() {
    this.options = await api("GET", this.path("/status"));
  }

  async act(action) {
    this.refused = null;
    this.last = null;
    const done = await this.run("actError", () => api("POST", this.path("/status"), { body: { action } }), { focusSummary: false });
    const error = this.actError;
    if (done) {
      this.record.customer = { ...this.record.customer, ...done };
      announce(`${ACTIONS[action][0]}: the customer is now ${STATUS_LABELS[done.status].toLowerCase()}`);
      this.last = action;
    } else {
      this.refused = action;
      if (error instanceof ApiError && error.status === 409) this.record.reloadCustomer();
    }
    await this.load();
    this.actError = error;
    update(() => {
      const target = done ? document.querySelector("#record-panel .success")
        : document.getElementById(`status-${action}-error`) || document.querySelector("#record-panel [role=alert]");
      if (target) {
        target.setAttribute("tabindex", "-1");
        target.focus();
      }
    });
  }

  content() {
    if (!this.options) return loading();
    const o = this.options;
    const canAct = allowed("POST", "/status");
    const reason = o.inactive_reason === "deactivated" ? " (on hold)" : o.inactive_reason === "unenrolled" ? " (un-enrolled)" : "";
    const possible = o.actions.filter((a) => a.allowed);
    const refused = o.actions.filter((a) => !a.allowed);
    return html`
      <h2>Status</h2>
      <p>The customer is <strong>${STATUS_LABELS[o.status] || o.status}${reason}</strong>.</p>
      ${this.last && !this.actError ? html`<p class="success" role="status">${ACTIONS[this.last][0]} done.</p>` : nothing}
      ${this.actError && this.refused && !o.actions.some((a) => a.action === this.refused && a.allowed) ? nothing
        : this.actError ? html`<div class="error-summary" role="alert"><p>${describe(this.actError)}</p></div>` : nothing}
      ${canAct ? html`
        <h3>What can be done now</h3>
        ${possible.length ? html`<ul class="actions-list">${possible.map((a) => html`<li>
          <button type="button" ?disabled=${this.busy} aria-describedby="status-${a.action}-what" @click=${() => this.act(a.action)}>${ACTIONS[a.action][0]}</button>
          <span class="hint" id="status-${a.action}-what">${ACTIONS[a.action][1]}</span></li>`)}</ul>` : html`<p>Nothing: ${o.status === "merged" ? "a merged customer takes no status change." : "no action applies."}</p>`}
        ${refused.length ? html`<h3>Not possible now</h3>
          <ul class="refused">${refused.map((a) => html`<li id="status-${a.action}-error" tabindex="-1" class=${this.refused === a.action ? "just-refused" : ""}>
            <strong>${ACTIONS[a.action][0]}</strong>: ${a.reason}${this.refused === a.action ? html` <span role="alert">(refused just now: ${this.actError ? this.actError.message : a.reason})</span>` : nothing}</li>`)}</ul>` : nothing}`
        : readOnlyNote("the status")}`;
  }
}

// ---- History --------------------------------------------------------------------------------------------------------

const ACTION_LABELS = {
  created: "Created", updated: "Edited", deleted: "Deleted", merged_from: "Merged in another customer", merged_into: "Merged into another customer",
  staff_assigned: "Staff assigned", staff_unassigned: "Staff unassigned", points_adjusted: "Points adjusted",
  email_preferences_changed: "Email preferences changed", status_enroll: "Enrolled", status_unenroll: "Un-enrolled",
  status_deactivate: "Deactivated (hold)", status_reactivate: "Reactivated",
};

class HistoryTab extends Tab {
  constructor(record) {
    super(record);
    this.cursors = [null];
    this.page = 0;
  }

  async fetch() {
    this.history = await api("GET", this.path("/history"), { query: { limit: 20, cursor: this.cursors[this.page] || undefined } });
    this.cursors[this.page + 1] = this.history.next_cursor;
  }

  content() {
    if (!this.history) return loading();
    const rows = [];
    for (const entry of this.history.items) {
      const changes = entry.changes.length ? entry.changes : [{ field: "", old: null, new: null }];
      changes.forEach((change, i) => rows.push(html`<tr class=${i === 0 ? "first" : ""}>
        ${i === 0 ? html`<td rowspan=${changes.length}>${when(entry.at)}</td><td rowspan=${changes.length}>${staffLabel(entry.by)}</td>
          <td rowspan=${changes.length}>${ACTION_LABELS[entry.action] || words(entry.action)}</td>` : nothing}
        <td>${change.field ? words(change.field) : "—"}</td><td>${value(change.old)}</td><td>${value(change.new)}</td></tr>`));
    }
    return html`
      <h2>History</h2>
      ${rows.length ? html`<table class="data history"><caption class="visually-hidden">Every change, newest first</caption>
        <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">Field</th>
          <th scope="col">Old</th><th scope="col">New</th></tr></thead><tbody>${rows}</tbody></table>
        ${pager(this, "Pages of the history")}` : html`<p>No history.</p>`}`;
  }
}

// The tabs, in order; a tab shows when the user may call one of the routes it `needs`.
export const TABS = [
  { id: "general", label: "General", Tab: GeneralTab },
  { id: "related", label: "Related", Tab: RelatedTab, needs: [["GET", "/relationships"]] },
  { id: "membership", label: "Membership", Tab: MembershipTab, needs: [["GET", "/membership"]] },
  { id: "web-login", label: "Web Login", Tab: WebLoginTab, needs: [["PUT", "/login"], ["POST", "/login/random-password"], ["POST", "/login/reset-email"]] },
  { id: "touch-points", label: "Touch Points", Tab: TouchPointsTab, needs: [["GET", "/tasks"]] },
  { id: "account-benefits", label: "Account Benefits", Tab: BenefitsTab, needs: [["GET", "/benefits"]] },
  { id: "notes", label: "Notes", Tab: NotesTab, needs: [["GET", "/notes"]] },
  { id: "points", label: "Points", Tab: PointsTab, needs: [["GET", "/points"]] },
  { id: "status", label: "Status", Tab: StatusTab, needs: [["GET", "/status"]] },
  { id: "history", label: "History", Tab: HistoryTab, needs: [["GET", "/history"]] },
];
