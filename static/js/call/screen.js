// The call screen: full viewport once admitted, with its controls always in reach.
import { $ } from "./dom.js";

let timer = null;
let startedAt = 0;

export function enterCallScreen() {
  document.body.classList.add("in-call");
  if (!timer) {
    startedAt = Date.now();
    timer = setInterval(tick, 1000);
    tick();
  }
}

export function leaveCallScreen() {
  document.body.classList.remove("in-call");
  clearInterval(timer);
  timer = null;
  if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
}

function tick() {
  const seconds = Math.floor((Date.now() - startedAt) / 1000);
  const text = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  $("call-timer").textContent = text;
  $("call-timer").setAttribute("datetime", `PT${seconds}S`);
}

function toggle(button, open) {
  button.setAttribute("aria-expanded", String(open));
}

// More (on a phone): the controls that do not fit the bar, in a sheet above it. It closes after
// one of them is used, on Escape (focus back on More), or on a second tap of More.
function showMore(open, { refocus = false } = {}) {
  const controls = document.querySelector("#call .controls");
  if (open) controls.dataset.more = "open";
  else delete controls.dataset.more;
  toggle($("more-toggle"), open);
  if (open) $("more-controls").querySelector("button:not([hidden])")?.focus();
  if (refocus) $("more-toggle").focus();
}
$("more-toggle").addEventListener("click", () => {
  showMore($("more-toggle").getAttribute("aria-expanded") !== "true");
});
$("more-controls").addEventListener("click", (event) => {
  if (event.target.closest("button") && $("more-toggle").getAttribute("aria-expanded") === "true") showMore(false);
});
$("more-controls").addEventListener("keydown", (event) => {
  if (event.key === "Escape") showMore(false, { refocus: true });
});

// Chat: a side panel on a desktop, a sheet on a phone.
$("chat-toggle").addEventListener("click", (event) => {
  const panel = $("chat-panel");
  panel.hidden = !panel.hidden;
  toggle(event.currentTarget, !panel.hidden);
  delete event.currentTarget.dataset.unread;
  event.currentTarget.textContent = "Chat";
  if (!panel.hidden) $("chat-input").focus();
});
$("chat-close").addEventListener("click", () => {
  $("chat-panel").hidden = true;
  toggle($("chat-toggle"), false);
  $("chat-toggle").focus();
});

// The security code, one tap away.
$("code-toggle").addEventListener("click", (event) => {
  const shown = $("call").dataset.showCode !== "true";
  $("call").dataset.showCode = String(shown);
  toggle(event.currentTarget, shown);
});

// Your own view: tap to move it to the next corner.
const CORNERS = ["bottom-right", "bottom-left", "top-left", "top-right"];
$("self-move").addEventListener("click", () => {
  const self = document.querySelector(".tile.self");
  const next = CORNERS[(CORNERS.indexOf(self.dataset.corner || "bottom-right") + 1) % CORNERS.length];
  self.dataset.corner = next;
});

// Full screen and picture in picture, where the browser has them.
const fullscreen = $("fullscreen");
if (!document.fullscreenEnabled) fullscreen.hidden = true;
fullscreen.addEventListener("click", async () => {
  if (document.fullscreenElement) await document.exitFullscreen();
  else await $("call").requestFullscreen();
});
document.addEventListener("fullscreenchange", () => {
  fullscreen.setAttribute("aria-pressed", String(Boolean(document.fullscreenElement)));
});
const pip = $("pip");
if (!document.pictureInPictureEnabled) pip.hidden = true;
pip.addEventListener("click", async () => {
  if (document.pictureInPictureElement) {
    await document.exitPictureInPicture();
    return;
  }
  const video = document.querySelector(".tile[data-peer] video");
  if (video) await video.requestPictureInPicture().catch(() => {});
});
