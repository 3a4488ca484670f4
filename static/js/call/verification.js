// The security code on the call screen: each connection's exchange (call/security_code.js) run
// over the signaling socket, the code shown on the other person's tile (and said when it changed
// since this tab last showed it), and a connection that proves unsafe closed and said so.
import { config, say } from "./dom.js";
import { showTheirState } from "./peer_state.js";
import { Exchange } from "./security_code.js";

// The codes last shown in this tab for this session, by person, to tell when one changes.
const CODES_KEY = `security-codes:${config.socket}`;
function shownCodes() {
  try {
    return JSON.parse(sessionStorage.getItem(CODES_KEY) || "{}");
  } catch {
    return {};
  }
}

// send(type, fields): to the signaling socket; who(peer): a person's key across reconnections;
// showState(peer, text): the tile's connection state in words.
export function verification({ send, who, showState }) {
  function verifier(peer) {
    return (step, fields) => send("verify", { to: peer.id, step, ...fields });
  }

  async function receiveVerify(peer, message) {
    if (peer.insecure) return;
    // A commitment starts the exchange for a new connection of the other side's.
    if (message.step === "commit") peer.exchange = new Exchange("answerer", verifier(peer));
    if (!peer.exchange) return notSecure(peer, "the security check arrived out of order");
    const problem = await peer.exchange.receive(message);
    if (problem) return notSecure(peer, problem);
    if (peer.exchange.code && peer.pc.connectionState === "connected") await showSecurityCode(peer);
  }

  async function showSecurityCode(peer) {
    const exchange = peer.exchange;
    if (!exchange?.code || peer.insecure) return;
    const problem = await exchange.check(peer.pc);
    if (problem) return notSecure(peer, problem);
    const element = peer.tile.querySelector(".security-code");
    if (element.dataset.code === exchange.code) return;
    const codes = shownCodes();
    const before = codes[who(peer)];
    element.dataset.code = exchange.code;
    if (before && before !== exchange.code) {
      element.textContent = `New security code: ${exchange.code}. Read it aloud again.`;
      element.dataset.changed = "true";
      say(`The security code with ${peer.name} changed. Read it aloud again.`, "warning");
      // Shown over the call for half a minute; the Security code button shows it after that.
      setTimeout(() => {
        if (element.dataset.code !== exchange.code || !element.dataset.changed) return;
        delete element.dataset.changed;
        element.textContent = `Security code: ${exchange.code}`;
      }, 30000);
    } else element.textContent = `Security code: ${exchange.code}`;
    codes[who(peer)] = exchange.code;
    sessionStorage.setItem(CODES_KEY, JSON.stringify(codes));
    showTheirState(peer.tile, peer.tile.state || {}); // a new code is not verified until both confirm it
  }

  // The connection cannot be trusted: it is closed (no media either way) and the person is told.
  function notSecure(peer, reason) {
    if (peer.insecure) return;
    peer.insecure = true;
    peer.pc.close();
    peer.tile.dataset.secure = "no";
    peer.tile.dataset.state = "closed";
    showState(peer, "Disconnected");
    const element = peer.tile.querySelector(".security-code");
    delete element.dataset.code;
    delete element.dataset.changed;
    element.dataset.reason = reason;
    element.classList.add("not-secure");
    element.setAttribute("role", "alert");
    element.textContent =
      `This call is not secure: something between you and ${peer.name} changed the connection. ` +
      "Your camera and microphone are no longer sent to them. Hang up, and tell the practice.";
    say(`This call is not secure. Your camera and microphone are no longer sent to ${peer.name}.`, "warning");
    showTheirState(peer.tile, peer.tile.state || {});
    console.warn("security code:", reason);
  }

  return { verifier, receiveVerify, showSecurityCode };
}
