// Add a customer: an individual or an organisation, its contact details, username and assigned staff; a
// possible duplicate is shown with the customers it resembles, and can be saved anyway.
import { html } from "../vendor/lit-html.js";
import { api, describe } from "./api.js";
import { app, can, navigate, staffLabel, update } from "./core.js";
import { ADDRESS_FIELDS, answersEditor, answersValue, fieldsOf } from "./tabs.js";
import { errorSummary, focusErrorSummary, selectField, textField } from "./ui.js";

export class NewCustomerScreen {
  constructor() {
    this.kind = "new";
    this.type = "individual";
    this.draft = {};
    this.username = "";
    this.answers = [];
    this.staff = [app.me ? app.me.username : "", ""];
    this.error = null;
    this.duplicates = null;
    this.busy = false;
  }

  title() {
    return "Add a customer";
  }

  body(confirmDuplicate) {
    const body = { type: this.type };
    for (const [path] of fieldsOf(this.type)) {
      const raw = (this.draft[path] || "").trim();
      if (!raw) continue;
      const [top, part] = path.split(".");
      if (part) body[top] = { ...(body[top] || {}), [part]: raw };
      else body[top] = raw;
    }
    if (this.username.trim()) body.username = this.username.trim();
    const answers = answersValue(this.answers);
    if (Object.keys(answers).length) body.answers = answers;
    const staff = this.staff.filter(Boolean);
    if (staff.length) body.assigned_staff = [...new Set(staff)];
    if (confirmDuplicate) body.confirm_duplicate = true;
    return body;
  }

  async save(confirmDuplicate = false) {
    this.busy = true;
    this.error = null;
    this.duplicates = null;
    update();
    try {
      const created = await api("POST", "/customers", { body: this.body(confirmDuplicate) });
      app.banner = { kind: "info", text: `Added ${created.customer_number}.` };
      navigate(`#/customers/${created.id}`);
      return;
    } catch (error) {
      this.error = error;
      if (error.code === "possible_duplicate") this.duplicates = error.details.duplicates || [];
      focusErrorSummary();
    }
    this.busy = false;
    update();
  }

  view() {
    if (!can("POST", "/customers")) {
      return html`<h1 tabindex="-1" data-page-title>Add a customer</h1><p>Your role cannot add customers.</p>`;
    }
    const labels = { type: ["type-individual", "Type"], username: ["new-username", "Username"],
      assigned_staff: ["new-staff-1", "Assigned staff"] };
    const fields = fieldsOf(this.type).map(([path, label, options = {}]) => {
      const id = `new-${path.replace(".", "-")}`;
      labels[path] = [id, label];
      return textField({ id, label, path, value: this.draft[path] || "", error: this.error, ...options,
        onInput: (v) => { this.draft[path] = v; } });
    });
    const nameCount = this.type === "organization" ? 1 : 3;
    const contactCount = this.type === "organization" ? 2 : 3;
    const staff = [["", "Nobody"], ...app.directory.map((s) => [s.username, staffLabel(s.username)])];
    return html`
      <p class="breadcrumb"><a href="#/customers">Customers</a> › Add</p>
      <h1 tabindex="-1" data-page-title>Add a customer</h1>
      <p class="hint">Fields marked * are required.</p>
      ${this.duplicates ? html`
        <div class="error-summary warning" role="alert" tabindex="-1" data-error-summary>
          <h2>This may be a customer we already have</h2>
          <p>${describe(this.error)}</p>
          <ul>${this.duplicates.map((d) => html`<li><a href="#/customers/${d.id}" target="_blank" rel="noopener">${d.name} (${d.customer_number})</a>
            — ${d.reason === "same_email" ? "the same email" : "the same name and postcode"}</li>`)}</ul>
          <div class="actions"><button type="button" ?disabled=${this.busy} @click=${() => this.save(true)}>Save anyway</button>
            <span class="hint">or change the details below</span></div>
        </div>` : errorSummary(this.error, labels, "The customer was not added")}
      <form novalidate class="record-form" @submit=${(e) => { e.preventDefault(); this.save(); }}>
        <fieldset class="inline"><legend>Type</legend>
          ${[["individual", "Individual"], ["organization", "Organisation"]].map(([v, l]) => html`
            <div class="field checkbox"><input type="radio" name="type" id="type-${v}" .checked=${this.type === v}
              @change=${() => { this.type = v; update(); }}><label for="type-${v}">${l}</label></div>`)}
        </fieldset>
        <fieldset><legend>Name</legend>${fields.slice(0, nameCount)}</fieldset>
        <fieldset><legend>Contact</legend>
          ${fields.slice(nameCount, nameCount + contactCount)}
          ${textField({ id: "new-username", label: "Username", path: "username", value: this.username, error: this.error,
            hint: "Optional; unique, and it cannot be changed once saved.", onInput: (v) => { this.username = v; } })}
        </fieldset>
        <fieldset><legend>Address</legend>${fields.slice(fields.length - ADDRESS_FIELDS.length)}</fieldset>
        ${answersEditor(this.answers, { idPrefix: "new", error: this.error, readonly: false, onChange: () => update() })}
        <fieldset><legend>Assigned staff</legend>
          <p class="hint">At most two staff members work with a customer.</p>
          ${selectField({ id: "new-staff-1", label: "First staff member", value: this.staff[0], choices: staff, error: this.error,
            path: "assigned_staff", onChange: (v) => { this.staff[0] = v; } })}
          ${selectField({ id: "new-staff-2", label: "Second staff member", value: this.staff[1], choices: staff, onChange: (v) => { this.staff[1] = v; } })}
        </fieldset>
        <div class="actions"><button type="submit" class="primary" ?disabled=${this.busy}>${this.busy ? "Saving…" : "Add customer"}</button>
          <a href="#/customers">Cancel</a></div>
      </form>`;
  }
}
