// The call page: the pre-session checks (devices, connection test, the client's check-in), then
// the call itself. Media flows peer to peer (DTLS-SRTP); the signaling socket only introduces
// peers and carries their offers, answers and candidates.
import { runConnectionTest } from "./connection_test.js";
import "./controls.js";
import { $, config, csrf, say } from "./dom.js";
import { openDevices } from "./media.js";
import "./quality.js";
import { certificate } from "./security_code.js";
import { connect } from "./signaling.js";
import { call } from "./state.js";

// The connection test (connection_test.js).

const testConnection = () =>
  runConnectionTest(async () => {
    if (!call.localStream) await openDevices();
    return call.localStream;
  });
$("run-test").addEventListener("click", testConnection);

// The check-in, then the socket.

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
      at_home: !$("away-from-home").checked,
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
  if (!call.localStream) await openDevices();
  try {
    call.certificate = await certificate;
  } catch {
    say("This browser cannot make a secure video call. Try a current Chrome, Edge, Firefox or Safari.", "warning");
    return;
  }
  // The waiting message takes the place of the checks, at the top of the page.
  $("check-in").hidden = true;
  $("devices").hidden = true;
  $("waiting").hidden = false;
  window.scrollTo({ top: 0 });
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

// The devices open at once; for a client the connection check then runs by itself (it can be run
// again from "Devices and connection").
openDevices().then(() => {
  if (config.role === "client" && call.localStream) testConnection();
});
