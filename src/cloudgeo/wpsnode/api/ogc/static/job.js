// The job page: follows the job's status until it ends, then lists its results.
"use strict";
const job = document.getElementById("job");
const url = job.dataset.statusUrl;
const FINISHED = ["successful", "failed", "dismissed"];

function safeLink(href) {
  try {
    const parsed = new URL(href, window.location.href);
    return ["http:", "https:"].includes(parsed.protocol) ? parsed.href : null;
  } catch { return null; }
}

function show(name, value) {
  const item = document.createElement("li");
  const label = document.createElement("code");
  label.textContent = name;
  item.append(label, " ");
  const href = value && typeof value === "object" ? safeLink(value.href || "") : null;
  if (href) {
    const link = document.createElement("a");
    link.href = href;
    link.textContent = value.type ? `download (${value.type})` : "download";
    item.append(link);
  } else {
    item.append(typeof value === "object" ? JSON.stringify(value) : String(value));
  }
  document.getElementById("results").append(item);
}

async function results() {
  const response = await fetch(`${url}/results`, { headers: { Accept: "application/json" } });
  const document_ = await response.json();
  for (const [name, value] of Object.entries(document_)) show(name, value);
}

async function follow() {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const info = await response.json();
  document.getElementById("job-status").textContent = info.status;
  document.getElementById("job-message").textContent = info.message || "";
  const progress = document.getElementById("job-progress");
  progress.value = info.progress || 0;
  progress.textContent = `${info.progress || 0} %`;
  if (info.status === "successful") return results();
  if (!FINISHED.includes(info.status)) setTimeout(follow, 1000);
}

follow();
