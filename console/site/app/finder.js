// Find another customer by name or number and choose one (for merging, and for relationships).
import { html, nothing } from "../vendor/lit-html.js";
import { ApiError, api, describe } from "./api.js";
import { customerName, debounce, update } from "./core.js";

export class CustomerFinder {
  constructor(excludeId) {
    this.excludeId = excludeId;
    this.q = "";
    this.results = null;
    this.error = null;
    this.chosen = null;
    this.seq = 0;
    this.soon = debounce(() => this.search(), 250);
  }

  async search() {
    const q = this.q.trim();
    const seq = (this.seq += 1);
    if (!q) {
      this.results = null;
      update();
      return;
    }
    try {
      const page = await api("GET", "/customers", { query: { q, limit: 10 } });
      if (seq !== this.seq) return;
      this.results = page.items.filter((c) => c.id !== this.excludeId && c.status !== "merged");
      this.error = null;
    } catch (error) {
      if (seq !== this.seq) return;
      this.error = error;
      this.results = null;
    }
    update();
  }

  reset() {
    this.q = "";
    this.results = null;
    this.chosen = null;
  }

  view(id, label, onChange = () => {}) {
    if (this.chosen) {
      return html`<div class="chosen" role="group" aria-label=${label}>
        <p>${label}: <strong>${customerName(this.chosen)}</strong> (${this.chosen.customer_number}${this.chosen.email ? `, ${this.chosen.email}` : ""})</p>
        <button type="button" class="link" @click=${() => { this.chosen = null; onChange(); update(() => { const el = document.getElementById(id); if (el) el.focus(); }); }}>Choose another</button>
      </div>`;
    }
    const message = this.error instanceof ApiError ? this.error.field("q") || describe(this.error) : this.error ? describe(this.error) : null;
    return html`
      <div class="finder">
        <div class="field ${message ? "has-error" : ""}">
          <label for=${id}>${label}</label>
          <p class="hint" id="${id}-hint">Type a customer number or a name, then choose from the list.</p>
          ${message ? html`<p class="field-error" id="${id}-error">${message}</p>` : nothing}
          <input id=${id} type="search" autocomplete="off" .value=${this.q} aria-describedby="${id}-hint ${message ? `${id}-error` : ""}"
            @input=${(e) => { this.q = e.target.value; this.soon(); }}>
        </div>
        ${this.results ? html`<ul class="finder-results" aria-label="Customers found">
          ${this.results.length ? this.results.map((c) => html`<li><button type="button" class="link"
            @click=${() => { this.chosen = c; onChange(); update(); }}>Choose ${customerName(c)}</button>
            <span class="hint">${c.customer_number}${c.email ? ` · ${c.email}` : ""}${c.address && c.address.postcode ? ` · ${c.address.postcode}` : ""}</span></li>`)
            : html`<li>No customer found.</li>`}
        </ul>` : nothing}
      </div>`;
  }
}
