// The call screen: full viewport once admitted, with its controls always in reach.
import { $, setLabel } from "./dom.js";

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

// The bar's layout. On a phone (narrow, or landscape and short): Mute, Camera, Chat, More and
// Hang up, the rest in More's sheet. On a desktop one row: Mute, Camera, Share, Chat, More and,
// for the therapist, Leave, whose menu holds Hang up and End for everyone.
const PHONE = matchMedia("(max-width: 40rem), (max-height: 30rem)");
const bar = document.querySelector("#call .controls");
function arrange() {
  const phone = PHONE.matches;
  const more = $("more-controls");
  const leave = $("leave-menu");
  if (phone) {
    more.prepend($("share"));
    more.prepend($("low-bandwidth"));
    more.prepend($("audio-only"));
    if ($("end")) more.append($("end"));
    bar.append($("hangup"));
  } else {
    bar.insertBefore($("share"), $("chat-toggle"));
    if (leave) {
      leave.append($("hangup"));
      leave.append($("end"));
    }
  }
  if ($("leave-toggle")) $("leave-toggle").hidden = phone;
  showMenu("more", false);
  showMenu("leave", false);
}
PHONE.addEventListener("change", arrange);
arrange();

// More and Leave open a menu above the bar (a sheet on a phone). Each closes after one of its
// controls is used, on Escape (focus back on its button), or on a second press of its button.
function showMenu(which, open, { refocus = false } = {}) {
  const button = $(`${which}-toggle`);
  if (!button) return;
  if (open) bar.dataset[which] = "open";
  else delete bar.dataset[which];
  toggle(button, open);
  if (open) $(`${which}-${which === "more" ? "controls" : "menu"}`).querySelector("button:not([hidden])")?.focus();
  if (refocus) button.focus();
}
for (const which of ["more", "leave"]) {
  const button = $(`${which}-toggle`);
  const menu = $(`${which}-${which === "more" ? "controls" : "menu"}`);
  if (!button) continue;
  button.addEventListener("click", () => {
    const open = button.getAttribute("aria-expanded") !== "true";
    showMenu(which === "more" ? "leave" : "more", false);
    showMenu(which, open);
  });
  menu.addEventListener("click", (event) => {
    if (event.target.closest("button") && button.getAttribute("aria-expanded") === "true") showMenu(which, false);
  });
  menu.addEventListener("keydown", (event) => {
    if (event.key === "Escape") showMenu(which, false, { refocus: true });
  });
}

// Chat: a side panel on a desktop, a sheet on a phone.
$("chat-toggle").addEventListener("click", (event) => {
  const panel = $("chat-panel");
  panel.hidden = !panel.hidden;
  toggle(event.currentTarget, !panel.hidden);
  delete event.currentTarget.dataset.unread;
  if (!panel.hidden && $("waiting-toggle")?.getAttribute("aria-expanded") === "true") $("waiting-toggle").click();
  setLabel(event.currentTarget, "Chat");
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
