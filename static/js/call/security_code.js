// The security code: both sides hash the SHA-256 fingerprints of the two DTLS certificates
// their call actually uses (from getStats). A party in the middle would have to present its own
// certificate to each side, so the codes would differ.
export function sha256Fingerprint(sdp) {
  const line = sdp.split(/\r?\n/).find((l) => l.toLowerCase().startsWith("a=fingerprint:sha-256 "));
  return line ? line.split(" ")[1].toUpperCase() : "";
}

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
  // Without certificate statistics, the fingerprints the descriptions promised.
  return [sha256Fingerprint(pc.localDescription.sdp), sha256Fingerprint(pc.remoteDescription.sdp)];
}

export async function securityCode(prints) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode([...prints].sort().join("|"))));
  const number = ((digest[0] << 24) | (digest[1] << 16) | (digest[2] << 8) | digest[3]) >>> 0;
  const digits = String(number % 1000000).padStart(6, "0");
  return `${digits.slice(0, 3)} ${digits.slice(3)}`;
}
