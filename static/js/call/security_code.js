// The security code, and the commitment that keeps whoever relays the signaling from choosing it.
//
// Each page makes one DTLS certificate for its calls (generateCertificate), so it knows its
// fingerprint before any connection exists. Between two pages, for each new connection:
//
//   1. the offerer sends   commit = SHA-256("teletherapy-commit-v2|" fingerprint "|" nonce)
//      before its offer, hiding a fresh random nonce (and binding its fingerprint);
//   2. the answerer, having seen only that hash, sends its fingerprint and its own fresh nonce;
//   3. the offerer then opens its commitment: its fingerprint and nonce.
//
// The answerer refuses an opening that does not hash to the commitment; each side refuses a
// connection whose certificate is not the one revealed. The code is SHA-256 of both fingerprints
// and both nonces, offerer's first, as six digits. A relay in the middle fixes what it shows one
// side before it can learn the other side's hidden nonce, so it cannot steer the two codes
// together: they match by chance one time in a million (README, "The security code").

// Made once the module loads, long before a connection needs it (a browser without WebRTC gets
// a rejected promise, and the page says the call cannot start).
export const certificate =
  typeof RTCPeerConnection === "function"
    ? RTCPeerConnection.generateCertificate({ name: "ECDSA", namedCurve: "P-256" })
    : Promise.reject(new Error("This browser cannot make video calls."));
certificate.catch(() => {});

export async function myFingerprint() {
  const print = (await certificate).getFingerprints().find((f) => f.algorithm === "sha-256");
  return print.value.toUpperCase();
}

export function sha256Fingerprint(sdp) {
  const line = (sdp || "").split(/\r?\n/).find((l) => l.toLowerCase().startsWith("a=fingerprint:sha-256 "));
  return line ? line.split(" ")[1].trim().toUpperCase() : "";
}

// The certificates a connection really uses, from getStats: [local, remote], or null before
// DTLS has finished.
export async function certificatePrints(pc) {
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
  return null;
}

function hex(bytes) {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256(text) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

export function freshNonce() {
  return hex(crypto.getRandomValues(new Uint8Array(32)));
}

export async function commitment(fingerprint, nonce) {
  return hex(await sha256(`teletherapy-commit-v2|${fingerprint}|${nonce}`));
}

export async function securityCode(offerer, answerer) {
  const digest = await sha256(
    `teletherapy-code-v2|${offerer.fingerprint}|${offerer.nonce}|${answerer.fingerprint}|${answerer.nonce}`,
  );
  const number = ((digest[0] << 24) | (digest[1] << 16) | (digest[2] << 8) | digest[3]) >>> 0;
  const digits = String(number % 1000000).padStart(6, "0");
  return `${digits.slice(0, 3)} ${digits.slice(3)}`;
}

// One exchange per connection, from either side. `send(step, fields)` sends a verify message to
// the peer; `fail(reason)` is called once when the exchange proves the connection unsafe.
export class Exchange {
  constructor(role, send) {
    this.role = role; // "offerer" or "answerer"
    this.send = send;
    this.mine = null;
    this.theirs = null;
    this.commit = null;
    this.code = null;
  }

  // The offerer: its nonce and commitment, made once, ready before its first offer.
  prepare() {
    this.prepared ||= (async () => {
      const mine = { fingerprint: await myFingerprint(), nonce: freshNonce() };
      this.hash = await commitment(mine.fingerprint, mine.nonce);
      this.mine = mine;
    })();
    return this.prepared;
  }

  // Sent just before the connection's first offer, and never again for it.
  commitOnce() {
    if (this.role !== "offerer" || !this.hash || this.committed) return;
    this.committed = true;
    this.send("commit", { hash: this.hash });
  }

  // A verify message from the peer. Returns a reason the connection is unsafe, or "".
  async receive(message) {
    if (this.role === "answerer" && message.step === "commit" && !this.commit) {
      this.commit = message.hash;
      this.mine = { fingerprint: await myFingerprint(), nonce: freshNonce() };
      this.send("nonce", this.mine);
      return "";
    }
    if (this.role === "offerer" && message.step === "nonce" && this.committed && !this.theirs) {
      this.theirs = { fingerprint: message.fingerprint, nonce: message.nonce };
      this.send("open", this.mine);
      this.code = await securityCode(this.mine, this.theirs);
      return "";
    }
    if (this.role === "answerer" && message.step === "open" && this.commit && !this.theirs) {
      if ((await commitment(message.fingerprint, message.nonce)) !== this.commit) {
        return "the other side's certificate is not the one it committed to";
      }
      this.theirs = { fingerprint: message.fingerprint, nonce: message.nonce };
      this.code = await securityCode(this.theirs, this.mine);
      return "";
    }
    return "the security check arrived out of order";
  }

  // Whether the connection's certificates are the ones this exchange revealed.
  async check(pc) {
    if (!this.code) return "";
    const remoteSdp = sha256Fingerprint(pc.remoteDescription?.sdp);
    if (remoteSdp && remoteSdp !== this.theirs.fingerprint) return "the other side's certificate changed";
    const prints = await certificatePrints(pc);
    if (!prints) return "";
    if (prints[0] !== this.mine.fingerprint || prints[1] !== this.theirs.fingerprint) {
      return "the connection's certificate is not the one the other side revealed";
    }
    return "";
  }
}
