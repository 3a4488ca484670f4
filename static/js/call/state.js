// What the parts of the call page share: this page's media, its signaling socket and what the
// server told it, the connections by peer id, and the places kept for people reconnecting.
export const call = {
  localStream: null,
  socket: null,
  me: null,
  iceConfig: null,
  heartbeat: null,
  finished: false,
  prepared: null, // while waiting to be admitted: the connection to whoever admits, offer made
  certificate: null, // this page's DTLS certificate, the same for each of its connections
};
export const peers = new Map(); // peer id -> {pc, polite, name, tile, chat, makingOffer, ignoreOffer}
export const awayPlaces = new Map(); // who(peer) -> {peer, shown, cancel}, while they reconnect

// A person's key across reconnections: their peer id changes, their role and name do not.
export const who = (p) => `${p.role}:${p.name}`;

export function send(type, fields = {}) {
  if (call.socket?.readyState === WebSocket.OPEN) call.socket.send(JSON.stringify({ v: 1, type, ...fields }));
}

// A peer's connection state in words, except while they are away (that says "Reconnecting…").
export function showState(peer, text) {
  if (!peer.away) peer.tile.querySelector(".state").textContent = text;
}
