// The connections, one per other person: made (or prepared while waiting to be admitted), their
// offers and answers (perfect negotiation), ICE restarts, their tiles, and the security code.
import { attachChat } from "./chat.js";
import { tuneVideo } from "./controls.js";
import { $, config, say } from "./dom.js";
import { attachState, confirmCode } from "./peer_state.js";
import { Exchange } from "./security_code.js";
import { awayPlaces, call, peers, send, showState, who } from "./state.js";
import { verification } from "./verification.js";

export const STATE_TEXT = {
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
  const same = document.createElement("button");
  same.type = "button";
  same.className = "code-confirm";
  same.textContent = "Same code on both screens";
  same.addEventListener("click", () => confirmCode(tile));
  tile.append(video, name, state, badges, code, same);
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
    iceServers: call.iceConfig.iceServers,
    iceTransportPolicy: call.iceConfig.iceTransportPolicy,
    certificates: [call.certificate],
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
        if (peer === call.prepared) {
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
  call.localStream.getTracks().forEach((t) => peer.pc.addTrack(t, call.localStream));
  attachChat(peer, peer.pc.createDataChannel("chat"));
  attachState(peer, peer.pc.createDataChannel("state"));
}

// While a client waits to be admitted, the connection to whoever admits them is made ready:
// tracks added, offer made, candidates gathered. Nothing leaves the page until a peer is
// announced; then the offer goes at once, with the candidates found so far.
export function prepare() {
  call.prepared?.pc.close();
  call.prepared = null;
  if (!call.iceConfig || !call.localStream || call.finished) return;
  call.prepared = newPeer();
  call.prepared.early = [];
  offerMedia(call.prepared);
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

// ``returned``: what away.js's resume() made of a kept connection of theirs ("resumed": it goes on,
// so nothing is to do; "back": it was dropped), or "" when none was kept.
export function addPeer(info, returned = "") {
  // First a kept connection (the other side, or this one, lost its signaling socket; a side that
  // did not keeps its peer id), then, failing that, the prepared one or a new one.
  if (returned === "resumed") return;
  removePeer(info.peer, false);
  const ready = !info.polite && call.prepared;
  if (ready) call.prepared = null;
  const peer = ready || newPeer();
  Object.assign(peer, { id: info.peer, polite: info.polite, name: info.name, role: info.role });
  peer.tile = makeTile(peer, info);
  peers.set(info.peer, peer);
  peer.tile.querySelector("video").srcObject = peer.remote;
  if (ready) release(peer);
  else if (!info.polite) offerMedia(peer);
  if (!returned) say(`${info.name} joined.`);
}

export function onState(id, peer) {
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

export async function onDescription(message) {
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
    call.localStream.getTracks().forEach((t) => sending.has(t) || pc.addTrack(t, call.localStream));
    await pc.setLocalDescription();
    send("answer", { to: message.from, sdp: pc.localDescription.sdp });
  }
}

export async function onCandidate(message) {
  const peer = peers.get(message.from);
  if (!peer || peer.insecure) return;
  try {
    await peer.pc.addIceCandidate(message.candidate ?? null);
  } catch (error) {
    if (!peer.ignoreOffer) console.warn("candidate refused", error);
  }
}

function fingerprintOf(sdp) {
  return (sdp || "").match(/^a=fingerprint:\S+ (\S+)/m)?.[1] || "";
}

export function removePeer(id, announce) {
  const peer = peers.get(id);
  if (!peer) return;
  if (peer.kept) awayPlaces.get(who(peer))?.cancel();
  peer.pc.close();
  peer.tile.remove();
  peers.delete(id);
  if (announce) say(`${peer.name} left the call.`);
}

// The security code (call/verification.js).
export const { verifier, receiveVerify, showSecurityCode } = verification({ send, who, showState });
