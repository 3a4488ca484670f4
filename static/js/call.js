// The pre-session checks and the call itself. Media flows peer to peer (DTLS-SRTP); the
// signaling socket only introduces peers and carries their offers, answers and candidates.
import { attachChat, addChatLine } from "./call/chat.js";
import { fillDevicePickers, stopLevel, watchLevel } from "./call/devices.js";
import { $, config, csrf, say } from "./call/dom.js";
import { attachState, judgeQuality, myState, setMyState, whenTheyWish } from "./call/peer_state.js";
import { enterCallScreen, leaveCallScreen } from "./call/screen.js";
import { runConnectionTest } from "./call/connection_test.js";
import { certificate, Exchange } from "./call/security_code.js";
import { verification } from "./call/verification.js";

let localStream = null;
let socket = null;
let me = null;
let iceConfig = null;
let heartbeat = null;
let finished = false;
const peers = new Map(); // peer id -> {pc, polite, name, tile, chat, makingOffer, ignoreOffer}
let prepared = null; // while waiting to be admitted: the connection to whoever admits, offer made
let myCertificate = null; // this page's DTLS certificate, the same for each of its connections

// 1. Devices ----------------------------------------------------------------------------------

async function openDevices() {
  const camera = $("camera").value;
  const microphone = $("microphone").value;
  const constraints = {
    video: camera ? { deviceId: { exact: camera } } : true,
    audio: microphone ? { deviceId: { exact: microphone } } : true,
  };
  try {
    const stream = await navigator.mediaDevices.getUserMedia(constraints);
    // A switch in the middle of a call keeps what the person chose: muted stays muted.
    stream.getAudioTracks().forEach((t) => (t.enabled = $("mute").getAttribute("aria-pressed") !== "true"));
    stream.getVideoTracks().forEach((t) => (t.enabled = $("camera-toggle").getAttribute("aria-pressed") !== "true"));
    localStream?.getTracks().forEach((t) => t.stop());
    localStream = stream;
    $("preview").srcObject = stream;
    $("self-view").srcObject = stream;
    await fillDevicePickers();
    $("devices-result").textContent = "Camera and microphone are working.";
    $("devices").dataset.state = "ok";
    watchLevel(stream);
    if (prepared) prepare(); // its offer carries the tracks it was made with
    // Already in a call: switch what the others receive without renegotiating.
    for (const peer of peers.values()) {
      for (const sender of peer.pc.getSenders()) {
        const next = stream.getTracks().find((t) => t.kind === sender.track?.kind);
        if (next) await sender.replaceTrack(next);
      }
    }
  } catch (error) {
    $("devices-result").textContent =
      "We could not use your camera or microphone. Check your browser's permission for this site, then reload.";
    $("devices").dataset.state = "failed";
  }
}

$("camera").addEventListener("change", openDevices);
$("microphone").addEventListener("change", openDevices);

// The same choices inside the call, and the speaker where the browser lets a page choose it.
async function fillCallDevices() {
  for (const [inCall, setUp] of [["call-camera", "camera"], ["call-microphone", "microphone"]]) {
    $(inCall).replaceChildren(...[...$(setUp).options].map((o) => new Option(o.text, o.value)));
    $(inCall).value = $(setUp).value;
  }
  const canChoose = typeof HTMLMediaElement.prototype.setSinkId === "function";
  const speakers = canChoose
    ? (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "audiooutput")
    : [];
  $("call-speaker-field").hidden = !speakers.length;
  $("call-speaker").replaceChildren(
    ...speakers.map((d, i) => new Option(d.label || `Speaker ${i + 1}`, d.deviceId)),
  );
}
$("devices-toggle").addEventListener("click", async () => {
  // Not event.currentTarget: it is null once the listener has awaited.
  const panel = $("devices-panel");
  if (panel.hidden) await fillCallDevices();
  panel.hidden = !panel.hidden;
  $("devices-toggle").setAttribute("aria-expanded", String(!panel.hidden));
  if (!panel.hidden) $("call-camera").focus();
});
$("devices-close").addEventListener("click", () => {
  $("devices-panel").hidden = true;
  $("devices-toggle").setAttribute("aria-expanded", "false");
  $("devices-toggle").focus();
});
for (const [inCall, setUp] of [["call-camera", "camera"], ["call-microphone", "microphone"]]) {
  $(inCall).addEventListener("change", async () => {
    $(setUp).value = $(inCall).value;
    await openDevices();
  });
}
$("call-speaker").addEventListener("change", async () => {
  for (const video of document.querySelectorAll(".tile[data-peer] video")) {
    await video.setSinkId($("call-speaker").value).catch(() => {});
  }
  document.body.dataset.speaker = $("call-speaker").value;
});

// 2. Connection test (call/connection_test.js) -------------------------------------------------

$("run-test").addEventListener("click", () =>
  runConnectionTest(async () => {
    if (!localStream) await openDevices();
    return localStream;
  }),
);

// 3. Check-in, then the socket ----------------------------------------------------------------

async function checkIn(event) {
  event.preventDefault();
  const error = $("check-in-error");
  error.hidden = true;
  const location = $("location").value;
  if (!location) {
    error.textContent = "Choose where you are.";
    error.hidden = false;
    $("location").setAttribute("aria-invalid", "true");
    $("location").focus();
    return;
  }
  const response = await fetch(config.checkIn, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
    body: JSON.stringify({
      location,
      private_device: $("private-device").checked,
      private_network: $("private-network").checked,
      private_space: $("private-space").checked,
    }),
  });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    error.textContent = body.detail || "Something went wrong. Try again.";
    error.hidden = false;
    return;
  }
  enter();
}

async function enter() {
  if (!localStream) await openDevices();
  try {
    myCertificate = await certificate;
  } catch {
    say("This browser cannot make a secure video call. Try a current Chrome, Edge, Firefox or Safari.", "warning");
    return;
  }
  $("check-in").hidden = true;
  $("waiting").hidden = false;
  connect();
}

if (config.role === "client") {
  $("check-in-form").addEventListener("submit", checkIn);
  // The error goes as soon as it is put right.
  $("location").addEventListener("change", () => {
    if (!$("location").value) return;
    $("location").removeAttribute("aria-invalid");
    $("check-in-error").hidden = true;
  });
}
else $("enter").addEventListener("click", enter);

function send(type, fields = {}) {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ v: 1, type, ...fields }));
}

// If the signaling socket drops (a network blip), try again with backoff: within the server's
// grace period an admitted participant comes straight back in. The calls are set up afresh.
const RECONNECT_FOR_MS = 150000;
let retryDelay = 1000;
let droppedAt = 0;

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}${config.socket}`);
  socket.addEventListener("message", (event) => handle(JSON.parse(event.data)));
  socket.addEventListener("close", () => {
    clearInterval(heartbeat);
    if (finished) return;
    droppedAt ||= Date.now();
    if (Date.now() - droppedAt > RECONNECT_FOR_MS) {
      finished = true;
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
      me = message.peer;
      iceConfig = message.ice;
      heartbeat = setInterval(() => send("ping", { t: Date.now() }), message.heartbeat * 1000);
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
      addPeer(message);
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
    case "verify":
      await onVerify(message);
      break;
    case "bye":
      finished = true;
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
  $("waiting").hidden = config.role !== "therapist";
  $("call").hidden = false;
  enterCallScreen();
  say("");
  if (entering) $("mute").focus({ preventScroll: true }); // admitted: the controls are where the keyboard is
}

// The therapist's waiting room ----------------------------------------------------------------

function updateWaitingEmpty() {
  const empty = $("waiting-empty");
  if (empty) empty.hidden = $("waiting-list").children.length > 0;
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
  say(`${entry.name} is waiting.`);
}

// Peers ------------------------------------------------------------------------------------

const STATE_TEXT = {
  new: "Connecting…",
  connecting: "Connecting…",
  connected: "Connected",
  disconnected: "Reconnecting…",
  failed: "Connection lost, retrying…",
  closed: "Left",
};

function makeTile(peer, info) {
  const tile = document.createElement("div");
  tile.className = "tile";
  tile.dataset.peer = info.peer;
  tile.dataset.framesDecoded = "0";
  tile.dataset.name = info.name;
  const video = document.createElement("video");
  video.autoplay = true;
  video.playsInline = true;
  video.setAttribute("aria-label", info.name);
  const name = document.createElement("p");
  name.className = "tile-name";
  name.textContent = info.name;
  const state = document.createElement("p");
  state.className = "state";
  state.setAttribute("role", "status");
  state.textContent = STATE_TEXT.new;
  const code = document.createElement("p");
  code.className = "security-code";
  code.title = "Read this aloud: if you both see the same code, nobody is in the middle of your call.";
  const badges = document.createElement("p");
  badges.className = "badges";
  badges.setAttribute("aria-live", "polite");
  tile.append(video, name, state, badges, code);
  // When the first frame from this peer is on screen (for the indicator and for measuring).
  video.requestVideoFrameCallback?.(() => {
    tile.dataset.firstFrameAt = String(Math.round(performance.timeOrigin + performance.now()));
  });
  if (config.role === "therapist" && info.role !== "therapist") {
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "remove link";
    remove.textContent = `Remove ${info.name}`;
    remove.addEventListener("click", () => send("remove", { peer: peer.id }));
    tile.append(remove);
  }
  $("tiles").append(tile);
  return tile;
}

// A connection with its listeners; its peer is known now, or (prepared) once admitted.
function newPeer() {
  const pc = new RTCPeerConnection({
    iceServers: iceConfig.iceServers,
    iceTransportPolicy: iceConfig.iceTransportPolicy,
    certificates: [myCertificate],
  });
  const remote = new MediaStream();
  const peer = { id: null, pc, remote, makingOffer: false, ignoreOffer: false, chat: null, early: null };
  pc.addEventListener("track", (event) => remote.addTrack(event.track));
  pc.addEventListener("icecandidate", (event) => {
    const candidate = event.candidate ? event.candidate.toJSON() : null;
    if (peer.early) peer.early.push(candidate);
    else send("ice", { to: peer.id, candidate });
  });
  pc.addEventListener("negotiationneeded", async () => {
    try {
      peer.makingOffer = true;
      // The first offer of a connection goes after the commitment to this page's certificate.
      peer.exchange ||= new Exchange("offerer", verifier(peer));
      await pc.setLocalDescription();
      if (peer.exchange.role === "offerer") await peer.exchange.prepare();
      if (peer.early) {
        peer.offer = pc.localDescription.sdp;
        if (peer === prepared) {
          document.body.dataset.prepared = "ready";
          document.body.dataset.preparedUfrag = peer.offer.match(/^a=ice-ufrag:(\S+)/m)?.[1] || "";
        }
        release(peer);
      } else {
        peer.exchange.commitOnce();
        send("offer", { to: peer.id, sdp: pc.localDescription.sdp });
      }
    } finally {
      peer.makingOffer = false;
    }
  });
  pc.addEventListener("connectionstatechange", () => onState(peer.id, peer));
  pc.addEventListener("iceconnectionstatechange", () => {
    if (pc.iceConnectionState === "failed") restartIce(peer);
  });
  pc.addEventListener("datachannel", (event) =>
    event.channel.label === "state" ? attachState(peer, event.channel) : attachChat(peer, event.channel),
  );
  return peer;
}

// The side that offers puts its tracks and the chat and state channels in the first offer.
function offerMedia(peer) {
  localStream.getTracks().forEach((t) => peer.pc.addTrack(t, localStream));
  attachChat(peer, peer.pc.createDataChannel("chat"));
  attachState(peer, peer.pc.createDataChannel("state"));
}

// While a client waits to be admitted, the connection to whoever admits them is made ready:
// tracks added, offer made, candidates gathered. Nothing leaves the page until a peer is
// announced; then the offer goes at once, with the candidates found so far.
function prepare() {
  prepared?.pc.close();
  prepared = null;
  if (!iceConfig || !localStream || finished) return;
  prepared = newPeer();
  prepared.early = [];
  offerMedia(prepared);
  document.body.dataset.prepared = "making";
}

function release(peer) {
  if (!peer.id || !peer.offer || !peer.early) return;
  peer.exchange.commitOnce();
  send("offer", { to: peer.id, sdp: peer.offer });
  for (const candidate of peer.early) send("ice", { to: peer.id, candidate });
  peer.early = null;
  document.body.dataset.prepared = "used";
}

function addPeer(info) {
  // First a kept connection (the other side, or this one, lost its signaling socket; a side that
  // did not keeps its peer id), then, failing that, the prepared one or a new one.
  const returned = resume(info);
  if (returned === "resumed") return;
  removePeer(info.peer, false);
  const ready = !info.polite && prepared;
  if (ready) prepared = null;
  const peer = ready || newPeer();
  Object.assign(peer, { id: info.peer, polite: info.polite, name: info.name, role: info.role });
  peer.tile = makeTile(peer, info);
  peers.set(info.peer, peer);
  peer.tile.querySelector("video").srcObject = peer.remote;
  if (ready) release(peer);
  else if (!info.polite) offerMedia(peer);
  if (!returned) say(`${info.name} joined.`);
}

function onState(id, peer) {
  const state = peer.pc.connectionState;
  showState(peer, STATE_TEXT[state] || state);
  peer.tile.dataset.state = state;
  if (state === "connected") {
    peer.tile.dataset.connectedAt ||= String(Math.round(performance.timeOrigin + performance.now()));
    tuneVideo(peer);
    showSecurityCode(peer);
  }
  if (state === "disconnected") {
    clearTimeout(peer.restartTimer);
    peer.restartTimer = setTimeout(() => {
      if (peer.pc.connectionState === "disconnected") restartIce(peer);
    }, 3000);
  }
}

// Recover from a network change or drop: the side that made the first offer restarts ICE
// (new credentials, new candidates), renegotiating through the signaling socket.
function restartIce(peer) {
  if (peer.polite) return;
  peer.tile.dataset.iceRestarts = String(Number(peer.tile.dataset.iceRestarts || 0) + 1);
  peer.pc.restartIce();
}

window.addEventListener("online", () => {
  for (const peer of peers.values()) restartIce(peer);
});

async function onDescription(message) {
  let peer = peers.get(message.from);
  if (!peer || peer.insecure) return;
  if (peer.resumed && message.type === "offer" && fingerprintOf(message.sdp) !== fingerprintOf(peer.pc.remoteDescription?.sdp)) {
    // Not the connection we kept: the other side started afresh (a reload), so do we; the
    // commitment it sent just before this offer is for the new connection.
    const info = { peer: message.from, name: peer.name, role: peer.role, polite: true };
    const exchange = peer.exchange;
    removePeer(message.from, false);
    addPeer(info);
    peer = peers.get(message.from);
    peer.exchange = exchange;
  }
  const pc = peer.pc;
  const collision = message.type === "offer" && (peer.makingOffer || pc.signalingState !== "stable");
  peer.ignoreOffer = !peer.polite && collision;
  if (peer.ignoreOffer) return;
  await pc.setRemoteDescription({ type: message.type, sdp: message.sdp });
  // The other side's ICE credentials: they change when either side restarts ICE.
  const ufrag = message.sdp.match(/^a=ice-ufrag:(\S+)/m);
  if (ufrag) peer.tile.dataset.remoteUfrag = ufrag[1];
  if (message.type === "offer") {
    // The answering side adds its tracks to the offered transceivers before answering.
    const sending = new Set(pc.getSenders().map((s) => s.track).filter(Boolean));
    localStream.getTracks().forEach((t) => sending.has(t) || pc.addTrack(t, localStream));
    await pc.setLocalDescription();
    send("answer", { to: message.from, sdp: pc.localDescription.sdp });
  }
}

async function onCandidate(message) {
  const peer = peers.get(message.from);
  if (!peer || peer.insecure) return;
  try {
    await peer.pc.addIceCandidate(message.candidate ?? null);
  } catch (error) {
    if (!peer.ignoreOffer) console.warn("candidate refused", error);
  }
}

// Someone whose signaling connection broke keeps their place, and their media connection (peer
// to peer, it may well be fine), marked as reconnecting, until they are back (announced again,
// under a new peer id, with the same name and role) or the grace period is over.
const awayPlaces = new Map();
const who = (p) => `${p.role}:${p.name}`;

function keep(peer, graceSeconds, shown) {
  const key = who(peer);
  awayPlaces.get(key)?.cancel();
  peer.kept = true;
  if (shown) {
    peer.tile.classList.add("away");
    peer.tile.querySelector(".state").textContent = "Reconnecting…";
    peer.away = true;
    say(`${peer.name} is reconnecting…`, "warning");
  }
  const timer = setTimeout(() => {
    awayPlaces.delete(key);
    removePeer(peer.id, false);
    if (shown) say(`${peer.name} left the call.`);
  }, Math.max(graceSeconds, 5) * 1000);
  awayPlaces.set(key, {
    peer,
    shown,
    cancel: () => {
      clearTimeout(timer);
      awayPlaces.delete(key);
      peer.kept = false;
      peer.away = false;
      peer.tile.classList.remove("away");
    },
  });
}

// A peer's connection state in words, except while they are away (that says "Reconnecting…").
function showState(peer, text) {
  if (!peer.away) peer.tile.querySelector(".state").textContent = text;
}

function holdPlace(id, graceSeconds) {
  const peer = peers.get(id);
  if (peer) keep(peer, graceSeconds, true);
}

// A peer announced again: if we kept their connection and it still carries media, it goes on
// under the new id, with no renegotiation; otherwise it is replaced by a new one.
const LIVE = new Set(["connected", "connecting", "disconnected"]);
function resume(info) {
  const place = awayPlaces.get(who(info));
  if (!place) return "";
  const { peer, shown } = place;
  place.cancel();
  if (shown) say(`${info.name} is back.`);
  if (!LIVE.has(peer.pc.connectionState)) {
    removePeer(peer.id, false);
    return "back";
  }
  peers.delete(peer.id);
  peer.id = info.peer;
  peer.resumed = true;
  peer.tile.dataset.peer = info.peer;
  peers.set(info.peer, peer);
  onState(peer.id, peer);
  return "resumed";
}

function fingerprintOf(sdp) {
  return (sdp || "").match(/^a=fingerprint:\S+ (\S+)/m)?.[1] || "";
}

function removePeer(id, announce) {
  const peer = peers.get(id);
  if (!peer) return;
  if (peer.kept) awayPlaces.get(who(peer))?.cancel();
  peer.pc.close();
  peer.tile.remove();
  peers.delete(id);
  if (announce) say(`${peer.name} left the call.`);
}

// The security code (call/verification.js) ------------------------------------------------------

const { verifier, receiveVerify, showSecurityCode } = verification({ send, who, showState });

async function onVerify(message) {
  const peer = peers.get(message.from);
  if (peer) await receiveVerify(peer, message);
}

// Frames decoded, for the indicator and for checking that video really arrives.
setInterval(async () => {
  for (const peer of peers.values()) {
    if (peer.insecure || peer.pc.connectionState !== "connected") continue;
    // The certificates in use stay the ones revealed in the exchange.
    if (peer.exchange?.code) await showSecurityCode(peer);
    if (peer.insecure) continue;
    const stats = await peer.pc.getStats();
    const reports = new Map();
    stats.forEach((report) => reports.set(report.id, report));
    for (const report of reports.values()) {
      if (report.type === "inbound-rtp" && report.kind === "video") {
        peer.tile.dataset.framesDecoded = String(report.framesDecoded || 0);
        judgeQuality(peer, report);
      }
      if (report.type === "inbound-rtp" && report.kind === "audio") {
        peer.tile.dataset.audioPackets = String(report.packetsReceived || 0);
      }
      if (report.type === "transport" && report.selectedCandidatePairId) {
        // Whether media goes through the TURN relay (no IP address exchanged) or directly.
        const pair = reports.get(report.selectedCandidatePairId);
        if (pair) judgeBandwidth(pair.availableOutgoingBitrate);
        if (pair && pair.currentRoundTripTime !== undefined) {
          peer.tile.dataset.rtt = String(Math.round(pair.currentRoundTripTime * 1000));
        }
        const local = pair && reports.get(pair.localCandidateId);
        if (local) {
          const relayed = local.candidateType === "relay";
          peer.tile.dataset.route = relayed ? "relay" : "direct";
          showState(peer, relayed ? "Connected (through the relay)" : "Connected");
        }
      }
    }
  }
}, 1000);

// Controls ------------------------------------------------------------------------------------

$("mute").addEventListener("click", (event) => {
  const muted = event.currentTarget.getAttribute("aria-pressed") !== "true";
  localStream.getAudioTracks().forEach((t) => (t.enabled = !muted));
  event.currentTarget.setAttribute("aria-pressed", String(muted));
  event.currentTarget.textContent = muted ? "Unmute" : "Mute";
  setMyState({ muted });
});

$("camera-toggle").addEventListener("click", (event) => {
  const off = event.currentTarget.getAttribute("aria-pressed") !== "true";
  localStream.getVideoTracks().forEach((t) => (t.enabled = !off));
  event.currentTarget.setAttribute("aria-pressed", String(off));
  event.currentTarget.textContent = off ? "Turn camera on" : "Turn camera off";
  setMyState({ camera: !off });
});

// Audio only and low bandwidth: what this side sends, set on each video sender (setParameters),
// and the other side stops sending video to someone who chose audio only.
const LOW = { maxBitrate: 150_000, maxFramerate: 10, scaleResolutionDownBy: 4 };
async function tuneVideo(peer) {
  const theirs = peer.tile.state || {};
  for (const sender of peer.pc.getSenders()) {
    if (sender.track?.kind !== "video") continue;
    const parameters = sender.getParameters();
    if (!parameters.encodings?.length) continue;
    const off = myState().audioOnly || theirs.audioOnly;
    for (const encoding of parameters.encodings) {
      encoding.active = !off;
      if (myState().lowBandwidth || theirs.lowBandwidth) Object.assign(encoding, LOW);
      else {
        delete encoding.maxBitrate;
        delete encoding.maxFramerate;
        encoding.scaleResolutionDownBy = 1;
      }
    }
    await sender.setParameters(parameters).catch(() => {});
  }
}
whenTheyWish((peer) => tuneVideo(peer));
function tuneAll() {
  for (const peer of peers.values()) tuneVideo(peer);
}

$("audio-only").addEventListener("click", (event) => {
  const on = event.currentTarget.getAttribute("aria-pressed") !== "true";
  event.currentTarget.setAttribute("aria-pressed", String(on));
  event.currentTarget.textContent = on ? "Back to video" : "Audio only";
  $("weak-offer").hidden = true;
  setMyState({ audioOnly: on });
  tuneAll();
});
$("low-bandwidth").addEventListener("click", (event) => {
  const on = event.currentTarget.getAttribute("aria-pressed") !== "true";
  event.currentTarget.setAttribute("aria-pressed", String(on));
  setMyState({ lowBandwidth: on });
  tuneAll();
});
$("weak-accept").addEventListener("click", () => {
  if ($("audio-only").getAttribute("aria-pressed") !== "true") $("audio-only").click();
});
$("weak-dismiss").addEventListener("click", () => {
  $("weak-offer").hidden = true;
  weakDismissed = true;
});

// Offered by itself: when the measured outgoing bandwidth stays under 200 kbit/s for 10 seconds.
let weakSince = 0;
let weakDismissed = false;
function judgeBandwidth(availableOutgoingBitrate) {
  if (!availableOutgoingBitrate) return;
  if (availableOutgoingBitrate >= 200_000) {
    weakSince = 0;
    if (myState().weakLink) setMyState({ weakLink: false });
    return;
  }
  weakSince ||= Date.now();
  if (Date.now() - weakSince <= 10_000) return;
  // Weak for ten seconds: the other side is told (their "Poor connection"), and this side is
  // offered audio only, once.
  if (!myState().weakLink) setMyState({ weakLink: true });
  if (!myState().audioOnly && !weakDismissed) $("weak-offer").hidden = false;
}

// Screen share: the camera's place in every call is taken by the screen, and given back.
let screenTrack = null;
async function replaceVideo(track) {
  for (const peer of peers.values()) {
    const sender = peer.pc.getSenders().find((s) => s.track?.kind === "video" || s.track === null);
    if (sender) await sender.replaceTrack(track);
  }
}
async function stopSharing() {
  if (!screenTrack) return;
  screenTrack.stop();
  screenTrack = null;
  await replaceVideo(localStream.getVideoTracks()[0] || null);
  $("self-view").srcObject = localStream;
  $("share").setAttribute("aria-pressed", "false");
  $("share").textContent = "Share screen";
  setMyState({ sharing: false });
}
if (!navigator.mediaDevices?.getDisplayMedia) $("share").hidden = true;
$("share").addEventListener("click", async () => {
  if (screenTrack) {
    await stopSharing();
    return;
  }
  try {
    const display = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    screenTrack = display.getVideoTracks()[0];
  } catch {
    return; // they chose not to share
  }
  screenTrack.addEventListener("ended", stopSharing);
  await replaceVideo(screenTrack);
  $("self-view").srcObject = new MediaStream([screenTrack]);
  $("share").setAttribute("aria-pressed", "true");
  $("share").textContent = "Stop sharing";
  setMyState({ sharing: true });
});

$("hangup").addEventListener("click", () => {
  send("leave");
});

$("end")?.addEventListener("click", () => {
  if (confirm("End the session for everyone? Nobody will be able to join again.")) send("end");
});

function teardown() {
  clearInterval(heartbeat);
  prepared?.pc.close();
  prepared = null;
  leaveCallScreen();
  for (const id of [...peers.keys()]) removePeer(id, false);
  for (const place of [...awayPlaces.values()]) place.cancel();
  localStream?.getTracks().forEach((t) => t.stop());
  stopLevel();
  $("call").hidden = true;
  $("waiting").hidden = true;
  $("check-in").hidden = true;
}

// Chat: over each peer's data channel, never through the server ------------------------------

$("chat-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("chat-input").value.trim().slice(0, 2000);
  if (!text) return;
  let sent = false;
  for (const peer of peers.values()) {
    if (peer.chat?.readyState === "open") {
      peer.chat.send(text);
      sent = true;
    }
  }
  if (sent) {
    addChatLine("You", text);
    $("chat-input").value = "";
  }
});

openDevices();
