// A shared trip: read-only, no token but the link's own, refreshed every few seconds.
"use strict";

const EVERY_MS = 2000;
const WORDS = {
  proposed: "The rider asked the driver for a seat.",
  accepted: "The driver accepted; they are agreeing on the pickup.",
  revealed: "The driver is checking the pickup point.",
  confirmed: "The pickup is confirmed; the car is on its way.",
  picked_up: "On board: the ride is under way.",
  dropped_off: "Arrived: the ride is over.",
  receipt_proposed: "Arrived: the ride is over.",
  unsigned: "Arrived: the ride is over.",
  done: "Arrived: the ride is over and both signed its receipt.",
  cancelled: "The ride was cancelled.",
};

const $ = (id) => document.getElementById(id);

function show(v) {
  $("ride").textContent = v.ride;
  $("state").textContent = v.state.replaceAll("_", " ");
  $("state").className = "status " + v.state;
  document.body.dataset.state = v.state;
  $("words").textContent = WORDS[v.state] || v.state;
  const other = v.sharer_role === "rider" ? "driver" : "rider";
  let detail = `The person who shared this is the ${v.sharer_role}; the ${other} is ${v.other_party}.`;
  if (v.pickup_ms) detail += ` Pickup planned at ${new Date(v.pickup_ms).toLocaleTimeString()}.`;
  if (v.endings.length) detail += " Ended: " + v.endings.map((e) => `${e.by} (${e.reason.replaceAll("_", " ")})`).join(", ") + ".";
  $("detail").textContent = detail;
  $("asof").textContent = "As of " + new Date(v.as_of_ms).toLocaleTimeString();
}

async function poll() {
  try {
    const r = await fetch(location.pathname.replace(/\/$/, "") + "/ride", {cache: "no-store"});
    if (r.status === 404) {
      $("gone").hidden = false;
      $("live").className = "live off";
      return; // ended for good
    }
    if (r.ok) {
      show(await r.json());
      $("live").className = "live on";
    }
  } catch (err) {
    $("live").className = "live off"; // the node is unreachable for now; try again
  }
  setTimeout(poll, EVERY_MS);
}

window.addEventListener("DOMContentLoaded", poll);
