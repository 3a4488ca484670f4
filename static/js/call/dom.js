// Page helpers every part of the call page uses.
export const $ = (id) => document.getElementById(id);
export const app = $("call-app");
export const config = JSON.parse(app.dataset.config);
export const csrf = document.querySelector('meta[name="csrf-token"]').content;
const statusLine = $("call-status");

export function say(text, kind = "") {
  statusLine.hidden = !text;
  statusLine.textContent = text;
  statusLine.className = `banner ${kind}`;
}

// A control's words, beside its icon (the icon stays).
export function setLabel(button, text) {
  (button.querySelector(".label") || button).textContent = text;
}
