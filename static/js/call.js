// The pre-session checks and the call itself. Media flows peer to peer (DTLS-SRTP); the
// signaling socket only introduces peers and carries their offers, answers and candidates.
const app = document.getElementById("call-app");
const config = JSON.parse(app.dataset.config);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const $ = (id) => document.getElementById(id);
const statusLine = $("call-status");

let localStream = null;
let socket = null;
let me = null;
let iceConfig = null;
let heartbeat = null;
let finished = false;
const peers = new Map(); // peer id -> {pc, polite, name, tile, chat, makingOffer, ignoreOffer}

function say(text, kind = "") {
  statusLine.hidden = !text;
  statusLine.textContent = text;
  statusLine.className = `banner ${kind}`;
}

// 1. Devices ----------------------------------------------------------------------------------

async function fillDevicePickers() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  for (const [select, kind] of [[$("camera"), "videoinput"], [$("microphone"), "audioinput"]]) {
    const chosen = select.value;
    select.replaceChildren();
    devices.filter((d) => d.kind === kind).forEach((d, i) => {
      const option = new Option(d.label || `${kind === "videoinput" ? "Camera" : "Microphone"} ${i + 1}`, d.deviceId);
      select.append(option);
    });
    if (chosen) select.value = chosen;
  }
}

let meterContext = null;
function watchLevel(stream) {
  const track = stream.getAudioTracks()[0];
  if (!track) return;
  meterContext?.close();
  meterContext = new AudioContext();
  const analyser = meterContext.createAnalyser();
  meterContext.createMediaStreamSource(stream).connect(analyser);
  const data = new Uint8Array(analyser.fftSize);
  const tick = () => {
    if (meterContext.state === "closed") return;
    analyser.getByteTimeDomainData(data);
    let peak = 0;
    for (const v of data) peak = Math.max(peak, Math.abs(v - 128) / 128);
    $("mic-level").value = peak;
    requestAnimationFrame(tick);
  };
  tick();
}

async function openDevices() {
  const camera = $("camera").value;
  const microphone = $("microphone").value;
  const constraints = {
    video: camera ? { deviceId: { exact: camera } } : true,
    audio: microphone ? { deviceId: { exact: microphone } } : true,
  };
  try {
    const stream = await navigator.mediaDevices.getUserMedia(constraints);
    localStream?.getTracks().forEach((t) => t.stop());
    localStream = stream;
    $("preview").srcObject = stream;
    $("self-view").srcObject = stream;
    await fillDevicePickers();
    $("devices-result").textContent = "Camera and microphone are working.";
    $("devices").dataset.state = "ok";
    watchLevel(stream);
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

// 2. Connection test --------------------------------------------------------------------------

async function fetchIce() {
  const response = await fetch(config.iceServers, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error("no ICE servers");
  return response.json();
}

function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => pc.iceGatheringState === "complete" && resolve();
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, 3000); // use what was gathered so far
  });
}

function waitFor(predicate, ms) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      if (predicate()) resolve();
      else if (Date.now() - started > ms) reject(new Error("timeout"));
      else setTimeout(poll, 50);
    };
    poll();
  });
}

async function runConnectionTest() {
  const result = $("test-result");
  const button = $("run-test");
  button.disabled = true;
  result.textContent = "Testing…";
  delete result.dataset.state;
  let pc = null;
  try {
    if (!localStream) await openDevices();
    const ice = await fetchIce();
    pc = new RTCPeerConnection({ iceServers: ice.iceServers, iceTransportPolicy: ice.iceTransportPolicy });
    localStream.getTracks().forEach((t) => pc.addTrack(t, localStream));
    const channel = pc.createDataChannel("rtt");
    const echoed = new MediaStream();
    pc.addEventListener("track", (event) => {
      echoed.addTrack(event.track);
      $("echo").srcObject = echoed;
    });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const response = await fetch(config.connectionTest, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: JSON.stringify({ type: "offer", sdp: pc.localDescription.sdp }),
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.detail || "The test peer refused.");
    await pc.setRemoteDescription(answer);
    await waitFor(() => pc.connectionState === "connected" && channel.readyState === "open", 15000);
    const times = [];
    for (let i = 0; i < 5; i++) {
      const sent = performance.now();
      const back = new Promise((resolve) => channel.addEventListener("message", resolve, { once: true }));
      channel.send(String(sent));
      await back;
      times.push(performance.now() - sent);
    }
    times.sort((a, b) => a - b);
    const rtt = Math.round(times[Math.floor(times.length / 2)]);
    result.dataset.rtt = String(rtt);
    result.dataset.state = "ok";
    result.textContent = `Video calls work from this network. Round trip: ${rtt} ms.`;
    setTimeout(() => pc.close(), 3000);
  } catch (error) {
    result.dataset.state = "failed";
    result.textContent =
      "We could not connect from this network. A firewall or public network may be blocking calls; try another network.";
    pc?.close();
  } finally {
    button.disabled = false;
  }
}

$("run-test").addEventListener("click", runConnectionTest);

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
  $("check-in").hidden = true;
  $("waiting").hidden = false;
  connect();
}

if (config.role === "client") $("check-in-form").addEventListener("submit", checkIn);
else $("enter").addEventListener("click", enter);

function send(type, fields = {}) {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ v: 1, type, ...fields }));
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}${config.socket}`);
  socket.addEventListener("message", (event) => handle(JSON.parse(event.data)));
  socket.addEventListener("close", () => {
    clearInterval(heartbeat);
    if (!finished) {
      finished = true;
      teardown();
      say("The connection to the session was lost. Reload the page to join again.", "warning");
    }
  });
}

async function handle(message) {
  switch (message.type) {
    case "welcome":
      me = message.peer;
      iceConfig = message.ice;
      heartbeat = setInterval(() => send("ping", { t: Date.now() }), message.heartbeat * 1000);
      send("join");
      if (message.state === "admitted") showCall();
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
      removePeer(message.peer, true);
      break;
    case "offer":
    case "answer":
      await onDescription(message);
      break;
    case "ice":
      await onCandidate(message);
      break;
    case "bye":
      finished = true;
      teardown();
      say(message.detail || "The session has ended.", message.code === 4003 ? "" : "warning");
      document.body.dataset.callEnded = message.reason;
      break;
    case "error":
      if (message.code !== "rate_limited") console.warn("signaling:", message.code, message.detail);
      break;
  }
}

function showCall() {
  $("waiting").hidden = config.role !== "therapist";
  $("call").hidden = false;
  say("");
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
  tile.append(video, name, state, code);
  // When the first frame from this peer is on screen (for the indicator and for measuring).
  video.requestVideoFrameCallback?.(() => {
    tile.dataset.firstFrameAt = String(Math.round(performance.timeOrigin + performance.now()));
  });
  if (config.role === "therapist" && info.role !== "therapist") {
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "remove link";
    remove.textContent = `Remove ${info.name}`;
    remove.addEventListener("click", () => send("remove", { peer: info.peer }));
    tile.append(remove);
  }
  $("tiles").append(tile);
  return tile;
}

function addPeer(info) {
  removePeer(info.peer, false);
  const pc = new RTCPeerConnection({
    iceServers: iceConfig.iceServers,
    iceTransportPolicy: iceConfig.iceTransportPolicy,
  });
  const peer = { pc, polite: info.polite, name: info.name, makingOffer: false, ignoreOffer: false, chat: null };
  peer.tile = makeTile(peer, info);
  peers.set(info.peer, peer);
  const remote = new MediaStream();
  peer.tile.querySelector("video").srcObject = remote;

  pc.addEventListener("track", (event) => remote.addTrack(event.track));
  pc.addEventListener("icecandidate", (event) =>
    send("ice", { to: info.peer, candidate: event.candidate ? event.candidate.toJSON() : null }),
  );
  pc.addEventListener("negotiationneeded", async () => {
    try {
      peer.makingOffer = true;
      await pc.setLocalDescription();
      send("offer", { to: info.peer, sdp: pc.localDescription.sdp });
    } finally {
      peer.makingOffer = false;
    }
  });
  pc.addEventListener("connectionstatechange", () => onState(info.peer, peer));
  pc.addEventListener("iceconnectionstatechange", () => {
    if (pc.iceConnectionState === "failed") restartIce(peer);
  });
  pc.addEventListener("datachannel", (event) => attachChat(peer, event.channel));

  if (!info.polite) {
    // The newcomer offers: tracks and the chat channel go in the first offer.
    localStream.getTracks().forEach((t) => pc.addTrack(t, localStream));
    attachChat(peer, pc.createDataChannel("chat"));
  }
  say(`${info.name} joined.`);
}

function onState(id, peer) {
  const state = peer.pc.connectionState;
  peer.tile.querySelector(".state").textContent = STATE_TEXT[state] || state;
  peer.tile.dataset.state = state;
  if (state === "connected") {
    peer.tile.dataset.connectedAt ||= String(Math.round(performance.timeOrigin + performance.now()));
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
  const peer = peers.get(message.from);
  if (!peer) return;
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
  if (!peer) return;
  try {
    await peer.pc.addIceCandidate(message.candidate ?? null);
  } catch (error) {
    if (!peer.ignoreOffer) console.warn("candidate refused", error);
  }
}

function removePeer(id, announce) {
  const peer = peers.get(id);
  if (!peer) return;
  peer.pc.close();
  peer.tile.remove();
  peers.delete(id);
  if (announce) say(`${peer.name} left the call.`);
}

// The security code: both sides hash the SHA-256 fingerprints of the two DTLS certificates
// their call actually uses (from getStats). A party in the middle would have to present its own
// certificate to each side, so the codes would differ.
function sha256Fingerprint(sdp) {
  const line = sdp.split(/\r?\n/).find((l) => l.toLowerCase().startsWith("a=fingerprint:sha-256 "));
  return line ? line.split(" ")[1].toUpperCase() : "";
}

async function certificatePrints(pc) {
  const reports = new Map();
  (await pc.getStats()).forEach((report) => reports.set(report.id, report));
  for (const report of reports.values()) {
    if (report.type !== "transport" || !report.localCertificateId || !report.remoteCertificateId) continue;
    const local = reports.get(report.localCertificateId);
    const remote = reports.get(report.remoteCertificateId);
    if (local?.fingerprintAlgorithm === "sha-256" && remote?.fingerprintAlgorithm === "sha-256") {
      return [local.fingerprint.toUpperCase(), remote.fingerprint.toUpperCase()];
    }
  }
  // Without certificate statistics, the fingerprints the descriptions promised.
  return [sha256Fingerprint(pc.localDescription.sdp), sha256Fingerprint(pc.remoteDescription.sdp)];
}

async function securityCode(prints) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode([...prints].sort().join("|"))));
  const number = ((digest[0] << 24) | (digest[1] << 16) | (digest[2] << 8) | digest[3]) >>> 0;
  const digits = String(number % 1000000).padStart(6, "0");
  return `${digits.slice(0, 3)} ${digits.slice(3)}`;
}

async function showSecurityCode(peer) {
  const prints = await certificatePrints(peer.pc);
  const code = await securityCode(prints);
  const element = peer.tile.querySelector(".security-code");
  element.textContent = `Security code: ${code}`;
  element.dataset.code = code;
  element.dataset.prints = prints.join(" ");
}

// Frames decoded, for the indicator and for checking that video really arrives.
setInterval(async () => {
  for (const peer of peers.values()) {
    if (peer.pc.connectionState !== "connected") continue;
    const stats = await peer.pc.getStats();
    const reports = new Map();
    stats.forEach((report) => reports.set(report.id, report));
    for (const report of reports.values()) {
      if (report.type === "inbound-rtp" && report.kind === "video") {
        peer.tile.dataset.framesDecoded = String(report.framesDecoded || 0);
      }
      if (report.type === "transport" && report.selectedCandidatePairId) {
        // Whether media goes through the TURN relay (no IP address exchanged) or directly.
        const pair = reports.get(report.selectedCandidatePairId);
        const local = pair && reports.get(pair.localCandidateId);
        if (local) {
          const relayed = local.candidateType === "relay";
          peer.tile.dataset.route = relayed ? "relay" : "direct";
          peer.tile.querySelector(".state").textContent = relayed ? "Connected (through the relay)" : "Connected";
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
});

$("camera-toggle").addEventListener("click", (event) => {
  const off = event.currentTarget.getAttribute("aria-pressed") !== "true";
  localStream.getVideoTracks().forEach((t) => (t.enabled = !off));
  event.currentTarget.setAttribute("aria-pressed", String(off));
  event.currentTarget.textContent = off ? "Turn camera on" : "Turn camera off";
});

$("hangup").addEventListener("click", () => {
  send("leave");
});

$("end")?.addEventListener("click", () => {
  if (confirm("End the session for everyone? Nobody will be able to join again.")) send("end");
});

function teardown() {
  clearInterval(heartbeat);
  for (const id of [...peers.keys()]) removePeer(id, false);
  localStream?.getTracks().forEach((t) => t.stop());
  meterContext?.close();
  $("call").hidden = true;
  $("waiting").hidden = true;
  $("check-in").hidden = true;
}

// Chat: over each peer's data channel, never through the server ------------------------------

function attachChat(peer, channel) {
  peer.chat = channel;
  channel.addEventListener("message", (event) => {
    if (typeof event.data === "string" && event.data.length <= 2000) addChatLine(peer.name, event.data);
  });
}

function addChatLine(who, text) {
  const item = document.createElement("li");
  const name = document.createElement("strong");
  name.textContent = `${who}: `;
  item.append(name, document.createTextNode(text));
  $("chat-log").append(item);
}

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
