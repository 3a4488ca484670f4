// Once a second, for each connection: the security code's certificates re-checked, and what its
// statistics say (frames decoded, audio arriving, round trip, relayed or direct, the bandwidth).
import { judgeBandwidth } from "./controls.js";
import { judgeQuality } from "./peer_state.js";
import { showSecurityCode } from "./peers.js";
import { peers, showState } from "./state.js";

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
