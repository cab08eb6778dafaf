/* Talking to the server (JSON with its error text) and the status line that reports on it. */
import { $ } from "./dom.js";

let inflight = 0; // requests under way (tests wait for 0)
export const busy = () => inflight;

export async function fetchJSON(url) {
  inflight++;
  let res, body = null;
  try {
    res = await fetch(url, { headers: { Accept: "application/json" } });
    try { body = await res.json(); } catch (e) { body = null; }
  } finally { inflight--; }
  if (!res.ok) {
    const err = new Error((body && body.error) || `${res.status} ${res.statusText}`);
    err.status = res.status;
    throw err;
  }
  return body;
}

let statusTimer = null;
export function showStatus(text, kind) {
  const s = $("#status");
  s.textContent = text;
  s.className = "status visible" + (kind ? " " + kind : "");
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => { s.className = "status"; }, kind === "error" ? 7000 : 2500);
}
