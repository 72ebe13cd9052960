// The console's only script: live parts of pages refresh themselves, replays ask first.
"use strict";

const csrf = () => document.querySelector("main")?.dataset.csrf ?? "";

async function refresh(part) {
  if (part.dataset.paused) return;
  try {
    const response = await fetch(part.dataset.refresh, { credentials: "same-origin" });
    if (response.redirected || !response.ok) return;  // logged out, or a passing error
    part.innerHTML = await response.text();
  } catch (error) {
    // The hub restarting: try again on the next tick.
  }
}

function live() {
  const parts = document.querySelectorAll("[data-refresh]");
  if (parts.length) setInterval(() => parts.forEach(refresh), 2000);
}

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button.replay");
  if (!button) return;
  const what = `${button.dataset.step} to ${button.dataset.department}`;
  if (!window.confirm(`Replay the delivery ${what}? It goes out again under its own delivery key.`)) return;
  button.disabled = true;
  const response = await fetch(`/console/deliveries/${button.dataset.delivery}/replay`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRF-Token": csrf() },
  });
  const row = button.closest("tr");
  row.querySelector(".state").textContent = response.ok ? "pending" : "not replayed";
  button.remove();
});

document.addEventListener("DOMContentLoaded", live);
