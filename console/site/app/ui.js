// Building blocks every screen uses: labelled fields that show their error beside them, an error summary
// that links to each field, modal dialogs, and the way values and times are written.
import { html, nothing } from "../vendor/lit-html.js";
import { ApiError, capitalise, describe } from "./api.js";
import { restoreFocus, update } from "./core.js";

let nextId = 0;
export const uid = (prefix) => `${prefix}-${(nextId += 1)}`;

// The error the API gave for `path` (a field's dotted name), if any.
export function fieldError(error, path) {
  return error instanceof ApiError ? error.field(path) : null;
}

function describedBy(...ids) {
  const present = ids.filter(Boolean);
  return present.length ? present.join(" ") : nothing;
}

// A labelled field around its control: the label, the hint and the error beside it. `control` gets the
// attributes every control shares (aria-invalid, aria-describedby) and returns the control itself.
function field(o, control) {
  const message = o.message || fieldError(o.error, o.path);
  const hintId = o.hint ? `${o.id}-hint` : null;
  const errorId = message ? `${o.id}-error` : null;
  return html`
    <div class="field ${message ? "has-error" : ""}">
      <label for=${o.id}>${o.label}${o.required ? html`<span class="required" aria-hidden="true"> *</span>` : nothing}</label>
      ${o.hint ? html`<p class="hint" id=${hintId}>${o.hint}</p>` : nothing}
      ${message ? html`<p class="field-error" id=${errorId}><span class="visually-hidden">Error: </span>${capitalise(message)}</p>` : nothing}
      ${control({ invalid: message ? "true" : "false", describedBy: describedBy(hintId, errorId), name: o.path || o.id })}
    </div>`;
}

// One labelled input. `path` is the field's name as the API reports it in errors.
// options: {id, label, value, onInput, error (ApiError), path, type, required, hint, readonly, autocomplete,
//           inputmode, min, max, step, list}
export function textField(o) {
  return field(o, (a) => html`
    <input id=${o.id} name=${a.name} type=${o.type || "text"} .value=${o.value ?? ""}
      ?required=${o.required} ?readonly=${o.readonly} autocomplete=${o.autocomplete || "off"}
      inputmode=${o.inputmode || nothing} min=${o.min ?? nothing} max=${o.max ?? nothing} step=${o.step ?? nothing}
      list=${o.list || nothing} maxlength=${o.maxlength ?? nothing}
      aria-invalid=${a.invalid} aria-describedby=${a.describedBy}
      @input=${(e) => o.onInput && o.onInput(e.target.value)}>`);
}

export function textArea(o) {
  return field(o, (a) => html`
    <textarea id=${o.id} name=${a.name} rows=${o.rows || 3} .value=${o.value ?? ""} ?required=${o.required}
      ?readonly=${o.readonly} aria-invalid=${a.invalid} aria-describedby=${a.describedBy}
      @input=${(e) => o.onInput && o.onInput(e.target.value)}></textarea>`);
}

// options: {id, label, value, choices: [[value, label]], onChange, error, path, hint, disabled}
export function selectField(o) {
  return field(o, (a) => html`
    <select id=${o.id} name=${a.name} ?disabled=${o.disabled} ?required=${o.required}
      aria-invalid=${a.invalid} aria-describedby=${a.describedBy}
      @change=${(e) => o.onChange && o.onChange(e.target.value)}>
      ${o.choices.map(([value, label, disabled]) => html`
        <option value=${value} ?selected=${String(o.value ?? "") === String(value)} ?disabled=${disabled}>${label}</option>`)}
    </select>`);
}

export function checkbox(o) {
  const hintId = o.hint ? `${o.id}-hint` : null;
  const message = o.message || fieldError(o.error, o.path);
  const errorId = message ? `${o.id}-error` : null;
  return html`
    <div class="field checkbox ${message ? "has-error" : ""}">
      <input type="checkbox" id=${o.id} name=${o.path || o.id} .checked=${Boolean(o.checked)} ?disabled=${o.disabled}
        aria-describedby=${describedBy(hintId, errorId)} @change=${(e) => o.onChange && o.onChange(e.target.checked)}>
      <label for=${o.id}>${o.label}</label>
      ${o.hint ? html`<p class="hint" id=${hintId}>${o.hint}</p>` : nothing}
      ${message ? html`<p class="field-error" id=${errorId}>${capitalise(message)}</p>` : nothing}
    </div>`;
}

// The error of a whole form: its message, and each field it names as a link to that field.
// `labels` maps a field path to [input id, label].
export function errorSummary(error, labels = {}, title = "It was not saved") {
  if (!error) return nothing;
  const fields = error instanceof ApiError ? error.fields : [];
  return html`
    <div class="error-summary" role="alert" tabindex="-1" data-error-summary>
      <h3>${title}</h3>
      <p>${describe(error)}</p>
      ${fields.length ? html`<ul>${fields.map((f) => {
        const [id, label] = labels[f.field] || [null, f.field];
        const text = `${label}: ${f.message}`;
        return html`<li>${id ? html`<a href="#${id}" @click=${(e) => focusField(e, id)}>${text}</a>` : text}</li>`;
      })}</ul>` : nothing}
    </div>`;
}

function focusField(event, id) {
  event.preventDefault();
  const target = document.getElementById(id);
  if (target) target.focus();
}

// After a failed save: move focus to the error summary so it is read out and the fields are a Tab away.
export function focusErrorSummary(scope = document) {
  update(() => {
    const summary = scope.querySelector("[data-error-summary]");
    if (summary) summary.focus();
  });
}

// A modal dialog: rendered while its state exists; Escape or Cancel calls onClose.
export function modal({ id, title, body, onClose, wide = false, alert = false }) {
  const titleId = `${id}-title`;
  return html`
    <dialog data-modal id=${id} class=${wide ? "wide" : ""} role=${alert ? "alertdialog" : nothing}
      aria-labelledby=${titleId} aria-modal="true"
      @cancel=${(e) => { e.preventDefault(); close(e.target, onClose); }}>
      <h2 id=${titleId}>${title}</h2>
      ${body}
    </dialog>`;
}

export function close(elementInDialog, onClose) {
  const dialog = elementInDialog && elementInDialog.closest ? elementInDialog.closest("dialog") : null;
  if (dialog && dialog.open) dialog.close();
  onClose();
  update(() => restoreFocus(dialog));
}

// ---- writing values ------------------------------------------------------------------------------

const dateTime = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short" });
const dateOnly = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeZone: "UTC" });

export function when(iso) {
  if (!iso) return "—";
  const parsed = new Date(iso);
  return Number.isNaN(parsed.getTime()) ? iso : dateTime.format(parsed);
}

export function day(iso) {
  if (!iso) return "—";
  const parsed = new Date(`${iso}T00:00:00Z`);
  return Number.isNaN(parsed.getTime()) ? iso : dateOnly.format(parsed);
}

export function value(v) {
  if (v === null || v === undefined || v === "") return "—";
  if (v === true) return "yes";
  if (v === false) return "no";
  if (Array.isArray(v)) return v.length ? v.map(value).join(", ") : "—";
  if (typeof v === "object") {
    return Object.entries(v).filter(([, x]) => x !== null && x !== undefined && x !== "")
      .map(([k, x]) => `${words(k)}: ${value(x)}`).join("; ") || "—";
  }
  return String(v);
}

// "address.postcode" → "address postcode"; "first_name" → "first name".
export function words(name) {
  return String(name).replace(/[._]/g, " ");
}

export const STATUS_LABELS = { active: "Active", enrolled: "Enrolled", inactive: "Inactive", merged: "Merged" };

export function statusBadge(customer) {
  const reason = customer.inactive_reason ? ` (${customer.inactive_reason === "deactivated" ? "on hold" : "un-enrolled"})` : "";
  return html`<span class="badge status-${customer.status}">${STATUS_LABELS[customer.status] || customer.status}${reason}</span>`;
}

export function loading(text = "Loading…") {
  return html`<p class="loading" role="status">${text}</p>`;
}

// An error in loading something, with a way to try again.
export function loadFailed(error, retry) {
  return html`<div class="error-summary" role="alert"><p>${describe(error)}</p>
    ${retry ? html`<button type="button" @click=${retry}>Try again</button>` : nothing}</div>`;
}
