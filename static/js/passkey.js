// Passkeys: a form marked data-passkey="register|sign_in|reauth|passwordless" gets its
// challenge from the server, asks the browser (or phone) for the passkey, and submits the
// answer in its hidden "credential" field. Without WebAuthn the passkey parts stay hidden.
const csrf = document.querySelector('meta[name="csrf-token"]').content;

const fromB64 = (text) => {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)).buffer;
};
const toB64 = (buffer) =>
  btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

function creationOptions(json) {
  if (PublicKeyCredential.parseCreationOptionsFromJSON) return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  return {
    ...json,
    challenge: fromB64(json.challenge),
    user: { ...json.user, id: fromB64(json.user.id) },
    excludeCredentials: (json.excludeCredentials || []).map((c) => ({ ...c, id: fromB64(c.id) })),
  };
}

function requestOptions(json) {
  if (PublicKeyCredential.parseRequestOptionsFromJSON) return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  return {
    ...json,
    challenge: fromB64(json.challenge),
    allowCredentials: (json.allowCredentials || []).map((c) => ({ ...c, id: fromB64(c.id) })),
  };
}

function asJSON(credential) {
  if (typeof credential.toJSON === "function") return credential.toJSON();
  const r = credential.response;
  const response = { clientDataJSON: toB64(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = toB64(r.attestationObject);
    response.transports = r.getTransports ? r.getTransports() : [];
  } else {
    response.authenticatorData = toB64(r.authenticatorData);
    response.signature = toB64(r.signature);
    if (r.userHandle) response.userHandle = toB64(r.userHandle);
  }
  return {
    id: credential.id,
    rawId: toB64(credential.rawId),
    type: credential.type,
    response,
    clientExtensionResults: credential.getClientExtensionResults(),
    authenticatorAttachment: credential.authenticatorAttachment,
  };
}

async function run(form, status) {
  const purpose = form.dataset.passkey;
  status.textContent = "Waiting for your passkey…";
  const response = await fetch(form.dataset.optionsUrl, {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRFToken": csrf, "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ purpose }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(body.detail || "The passkey could not start.");
  const credential =
    purpose === "register"
      ? await navigator.credentials.create({ publicKey: creationOptions(body) })
      : await navigator.credentials.get({ publicKey: requestOptions(body) });
  form.querySelector('input[name="credential"]').value = JSON.stringify(asJSON(credential));
  status.textContent = "Checking…";
  form.submit();
}

const supported = typeof window.PublicKeyCredential === "function";
for (const box of document.querySelectorAll("[data-passkey-box]")) box.hidden = !supported;
for (const note of document.querySelectorAll("[data-passkey-unsupported]")) note.hidden = supported;
if (supported) {
  for (const form of document.querySelectorAll("form[data-passkey]")) {
    const status = form.querySelector("[data-passkey-status]");
    form.addEventListener("submit", (event) => {
      if (form.querySelector('input[name="credential"]').value) return;
      event.preventDefault();
      run(form, status).catch((error) => {
        status.textContent =
          error.name === "NotAllowedError"
            ? "The passkey was not used (it was cancelled or timed out). Try again."
            : error.message || "The passkey did not work. Try again.";
      });
    });
  }
}
