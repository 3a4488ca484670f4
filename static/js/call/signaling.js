// The signaling socket: joining, what the server says (welcome, admitted, who waits, who joins
// and leaves, offers, answers, candidates, the security code's steps, the end), reconnecting with
// backoff after a drop, and the therapist's waiting room.
import { stopLevel } from "./devices.js";
import { holdPlace, keep, resume } from "./away.js";
import { $, config, say } from "./dom.js";
import { addPeer, onCandidate, onDescription, prepare, receiveVerify, removePeer } from "./peers.js";
import { enterCallScreen, leaveCallScreen } from "./screen.js";
import { awayPlaces, call, peers, send } from "./state.js";

// If the signaling socket drops (a network blip), try again with backoff: within the server's
// grace period an admitted participant comes straight back in. The calls are set up afresh.
const RECONNECT_FOR_MS = 150000;
let retryDelay = 1000;
let droppedAt = 0;

export function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  call.socket = new WebSocket(`${scheme}://${location.host}${config.socket}`);
  call.socket.addEventListener("message", (event) => handle(JSON.parse(event.data)));
  call.socket.addEventListener("close", () => {
    clearInterval(call.heartbeat);
    if (call.finished) return;
    droppedAt ||= Date.now();
    if (Date.now() - droppedAt > RECONNECT_FOR_MS) {
      call.finished = true;
      teardown();
      say("The connection to the session was lost. Reload the page to join again.", "warning");
      return;
    }
    // Media goes peer to peer: keep each connection while signaling comes back (on this
    // process or, behind HAProxy, another), and pick it up again when the peer is announced.
    for (const peer of peers.values()) keep(peer, RECONNECT_FOR_MS / 1000, false);
    document.body.dataset.reconnecting = "true";
    say("Reconnecting…", "warning");
    setTimeout(connect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 15000);
  });
}

async function handle(message) {
  switch (message.type) {
    case "welcome":
      call.me = message.peer;
      call.iceConfig = message.ice;
      call.heartbeat = setInterval(() => send("ping", { t: Date.now() }), message.heartbeat * 1000);
      send("join");
      if (droppedAt) {
        // Back after a drop: straight into the call within the grace period, else the waiting room.
        droppedAt = 0;
        retryDelay = 1000;
        delete document.body.dataset.reconnecting;
        document.body.dataset.reconnections = String(Number(document.body.dataset.reconnections || 0) + 1);
        say(message.state === "admitted" ? "Reconnected." : "");
        if (message.state !== "admitted") {
          $("call").hidden = true;
          $("waiting").hidden = false;
        }
      }
      if (message.state === "admitted") showCall();
      else prepare();
      break;
    case "admitted":
      showCall();
      break;
    case "waiting":
      addWaiting(message);
      break;
    case "waiting-gone":
      document.querySelector(`#waiting-list [data-peer="${message.peer}"]`)?.remove();
      updateWaitingEmpty();
      break;
    case "peer-joined":
      addPeer(message, resume(message));
      break;
    case "peer-left":
      if (message.reconnecting) holdPlace(message.peer, message.grace);
      else removePeer(message.peer, true);
      break;
    case "offer":
    case "answer":
      await onDescription(message);
      break;
    case "ice":
      await onCandidate(message);
      break;
    case "verify": {
      const peer = peers.get(message.from);
      if (peer) await receiveVerify(peer, message);
      break;
    }
    case "bye":
      call.finished = true;
      teardown();
      say("");
      document.body.dataset.callEnded = message.reason;
      showEnded(message);
      break;
    case "error":
      if (message.code !== "rate_limited") console.warn("signaling:", message.code, message.detail);
      break;
  }
}

// After the call: what happened, in words for this side, and a way back in while it is open.
const REJOINABLE = new Set(["left", "replaced", "removed"]);
function showEnded(message) {
  const box = $("ended");
  if (!box) return;
  $("ended-text").textContent = message.detail || "The session has ended.";
  $("rejoin").hidden = !REJOINABLE.has(message.reason);
  box.hidden = false;
  $("ended-h").focus();
}

function showCall() {
  const entering = $("call").hidden;
  // The therapist's waiting room is a side panel in the call, opened from Waiting in the bar
  // (which counts who waits); it opens by itself while nobody else is in the call.
  if (config.role === "therapist") showWaiting(entering ? peers.size === 0 : !$("waiting").hidden);
  else $("waiting").hidden = true;
  $("call").hidden = false;
  enterCallScreen();
  say("");
  if (entering) $("mute").focus({ preventScroll: true }); // admitted: the controls are where the keyboard is
}

// The therapist's waiting room ----------------------------------------------------------------

function showWaiting(open) {
  $("waiting").hidden = !open;
  $("waiting-toggle")?.setAttribute("aria-expanded", String(open));
}
$("waiting-toggle")?.addEventListener("click", () => showWaiting($("waiting").hidden));

function updateWaitingEmpty() {
  const count = $("waiting-list")?.children.length || 0;
  const empty = $("waiting-empty");
  if (empty) empty.hidden = count > 0;
  const toggle = $("waiting-toggle");
  if (!toggle) return;
  if (!count && peers.size > 0) showWaiting(false); // everyone admitted: the call has the screen
  let badge = toggle.querySelector(".count");
  if (!count) badge?.remove();
  else {
    if (!badge) {
      badge = document.createElement("span");
      badge.className = "count";
      toggle.append(badge);
    }
    badge.textContent = String(count);
    badge.setAttribute("aria-label", `${count} waiting`);
  }
}

function addWaiting(entry) {
  const list = $("waiting-list");
  list.querySelector(`[data-peer="${entry.peer}"]`)?.remove();
  const item = document.createElement("li");
  item.dataset.peer = entry.peer;
  const name = document.createElement("strong");
  name.textContent = entry.name;
  const where = document.createElement("span");
  where.textContent = ` · in ${entry.location_name || "an unstated place"}`;
  item.append(name, where);
  if (!entry.licensed) {
    const warn = document.createElement("p");
    warn.className = "error license-warning";
    warn.textContent = `You are not licensed in ${entry.location_name}. Check before you admit.`;
    item.append(warn);
  }
  const checks = Object.values(entry.checklist).filter(Boolean).length;
  const list2 = document.createElement("p");
  list2.className = "muted";
  list2.textContent = `Privacy checklist: ${checks} of 3 confirmed.`;
  const admit = document.createElement("button");
  admit.type = "button";
  admit.className = "admit";
  admit.textContent = `Admit ${entry.name}`;
  admit.addEventListener("click", () => send("admit", { peer: entry.peer }));
  item.append(list2, admit);
  list.append(item);
  updateWaitingEmpty();
  if (!$("call").hidden && peers.size === 0) showWaiting(true);
  say(`${entry.name} is waiting.`);
}

function teardown() {
  clearInterval(call.heartbeat);
  call.prepared?.pc.close();
  call.prepared = null;
  leaveCallScreen();
  for (const id of [...peers.keys()]) removePeer(id, false);
  for (const place of [...awayPlaces.values()]) place.cancel();
  call.localStream?.getTracks().forEach((t) => t.stop());
  stopLevel();
  $("call").hidden = true;
  $("waiting").hidden = true;
  $("check-in").hidden = true;
}
