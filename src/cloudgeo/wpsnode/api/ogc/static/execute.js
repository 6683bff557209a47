// The process page's form: uploads chosen files to the file service, then submits an
// asynchronous execution (OGC API – Processes) and opens the job's page.
"use strict";
const form = document.getElementById("execute");
const status = document.getElementById("status");

async function upload(file) {
  status.textContent = `Uploading ${file.name}…`;
  const body = new FormData();
  body.append("file", file);
  const response = await fetch(form.dataset.upload, { method: "PUT", body });
  const reply = await response.json();
  if (!response.ok || !reply.success) {
    throw new Error(`upload of ${file.name} refused: ${reply.message}`);
  }
  return { href: reply.data.url };
}

async function inputs() {
  const values = {};
  for (const field of form.querySelectorAll("[data-input]")) {
    const name = field.dataset.input;
    switch (field.dataset.kind) {
      case "file":
        if (field.files.length) {
          const refs = [];
          for (const file of field.files) refs.push(await upload(file));
          values[name] = field.multiple ? refs : refs[0];
        }
        break;
      case "href":
        if (field.value && !(name in values)) values[name] = { href: field.value };
        break;
      case "boolean":
        values[name] = field.checked;
        break;
      case "number":
        if (field.value !== "") values[name] = Number(field.value);
        break;
      default:
        if (field.value !== "") values[name] = field.value;
    }
  }
  return values;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const body = JSON.stringify({ inputs: await inputs() });
    status.textContent = "Submitting…";
    const response = await fetch(form.dataset.execute, {
      method: "POST", body,
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "Prefer": "respond-async" },
    });
    const reply = await response.json();
    if (response.status !== 201) throw new Error(reply.detail || `HTTP ${response.status}`);
    window.location.assign(`${response.headers.get("Location")}?f=html`);
  } catch (error) {
    status.textContent = `Not run: ${error.message}`;
    button.disabled = false;
  }
});
