// The lazooz peer app: one page over this node's control API (docs/app.md).
// Everything shown comes from /v1/...; the bearer token comes from the URL's
// fragment (#token=...), which browsers never send, and is kept for this tab only.
"use strict";

const MINUTE = 60000;
const TERMINAL = new Set(["done", "cancelled"]);
const CANCEL_REASONS = ["changed_mind", "no_show", "too_late", "unsafe", "other"];
const DECLINE_REASONS = ["other", "no_seats", "off_route", "too_late", "changed_mind", "unsafe"];

const state = {
  token: null,
  info: null,
  waypoints: [],
  plan: null,          // the router's answer for the waypoints
  planned: 0,          // counter, so a slow answer never overwrites a newer one
  pickup: null,        // [lat, lon] set by a map click
  dropoff: null,
  clickFor: "pickup",
  candidates: {},      // own id -> matches
  rides: [],
  events: [],
  shared: {},          // ride id -> share link made in this page
  drafts: {},          // "ride id:field" -> text typed in a ride card
};

// -- small helpers

const $ = (id) => document.getElementById(id);
const short = (hex) => (hex || "").slice(0, 8);
const km = (m) => (m / 1000).toFixed(1) + " km";
const mins = (s) => Math.round(s / 60) + " min";
const tokens = (milli) => (milli / 1000).toFixed(3);
const starsText = (n) => "★".repeat(n) + "☆".repeat(5 - n);
// A member's reputation {count, mean} as people read it.
const reputationText = (rep) => rep && rep.count ? `★ ${rep.mean.toFixed(1)} (${rep.count})` : "no ratings yet";
const when = (ms) => new Date(ms).toLocaleString([], {dateStyle: "short", timeStyle: "short"});

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

function money(minor, currency) {
  if (!currency || currency === "XXX") return "no money asked";
  return (minor / 100).toFixed(2) + " " + currency;
}

function localInput(ms) {
  // A datetime-local value ("2026-11-25T18:30") for ms, in the browser's time zone.
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * MINUTE);
  return d.toISOString().slice(0, 16);
}

function inputMs(id) {
  const v = $(id).value;
  if (!v) return NaN;
  return new Date(v).getTime();
}

let noticeTimer = null;
function notice(text, kind = "error") {
  const n = $("notice");
  n.textContent = text;
  n.className = kind;
  n.hidden = !text;
  clearTimeout(noticeTimer);
  if (kind === "ok") noticeTimer = setTimeout(() => { n.hidden = true; }, 6000);
}

function formError(id, text) {
  const e = $(id);
  e.textContent = text || "";
  e.hidden = !text;
}

// -- the API

class ApiError extends Error {
  constructor(status, reason, detail) {
    super(detail);
    this.status = status;
    this.reason = reason;
  }
}

async function api(method, path, body) {
  const opts = {method, headers: {Authorization: "Bearer " + state.token}};
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) {
    const detail = data && data.detail ? data.detail : "HTTP " + r.status;
    throw new ApiError(r.status, data && data.error, detail);
  }
  return data;
}

// Server-sent events over fetch (EventSource cannot send the bearer header).
async function listen() {
  for (;;) {
    try {
      const r = await fetch("/v1/events", {headers: {Authorization: "Bearer " + state.token}});
      if (!r.ok) throw new Error("HTTP " + r.status);
      const reader = r.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      $("live").className = "live on";
      refresh(); // whatever happened before the stream was up
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, {stream: true});
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = block.split("\n").filter((l) => l.startsWith("data: "));
          if (data.length) onEvent(JSON.parse(data.map((l) => l.slice(6)).join("\n")));
        }
      }
    } catch (err) {
      // The node restarted or the network hiccuped: say so, and try again.
    }
    $("live").className = "live off";
    await new Promise((ok) => setTimeout(ok, 2000));
  }
}

function onEvent(ev) {
  const text = describeEvent(ev);
  if (text) {
    state.events.unshift({at: Date.now(), text});
    state.events.length = Math.min(state.events.length, 100);
    renderEvents();
    toast(text);
  }
  scheduleRefresh();
}

function describeEvent(ev) {
  switch (ev.type) {
    case "CandidatesFound":
      return `${ev.matches.length} match(es) for your ${ev.role === "driver" ? "offer" : "request"} ${short(ev.own_id)}`;
    case "RideUpdated": {
      const why = ev.reason ? ` (${ev.reason.replaceAll("_", " ")})` : "";
      const said = ev.notice.replaceAll("_", " ");
      const now = ev.state.replaceAll("_", " ");
      return `Ride ${short(ev.ride_id)}: ${said === now ? now : `${said}, now ${now}`}${why}`;
    }
    case "ReceiptRecorded":
      return `Receipt recorded for ride ${short(ev.ride_id)}`;
    case "BalanceChanged":
      return ev.member.public_key === (state.info && state.info.public_key)
        ? `Balance ${tokens(ev.before_milli)} → ${tokens(ev.balance_milli)} tokens`
        : null;
    case "OwnClosed":
      return `Your ${ev.kind} ${short(ev.own_id)} closed: ${ev.why}`;
    case "ForkFound":
      return `Fork found in ${ev.author.member_id}'s log: their credit is frozen`;
    default:
      return null;
  }
}

// System notifications, once allowed, for when the page is not in front.
function setupNotifications() {
  const button = $("notify");
  if (!("Notification" in window)) return;
  const show = () => { button.hidden = Notification.permission !== "default"; };
  show();
  button.addEventListener("click", async () => { await Notification.requestPermission(); show(); });
}

function systemNotify(text) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  if (document.visibilityState === "visible" && document.hasFocus()) return; // the toast is seen
  new Notification("lazooz", {body: text, tag: "lazooz"});
}

function toast(text) {
  systemNotify(text);
  let box = $("toasts");
  if (!box) document.body.append(box = el("div", {id: "toasts"}));
  const t = el("div", {class: "toast"}, text);
  box.append(t);
  while (box.children.length > 3) box.firstChild.remove(); // the History tab keeps them all
  setTimeout(() => t.remove(), 4000);
}

// -- the map

let map, routeLine, waypointLayer, tripLayer, homeMarker;

async function setupMap() {
  const info = state.info;
  map = L.map("map", {zoomControl: true, attributionControl: true});
  if (info.tile_url) {
    L.tileLayer(info.tile_url, {attribution: info.tile_attribution || "", maxZoom: 19}).addTo(map);
  }
  const bounds = info.router.bounds;
  if (bounds) map.fitBounds(bounds);
  else map.setView(info.home, 14);
  const net = await api("GET", "/v1/network");
  if (net.features.length) {
    L.geoJSON(net, {style: {color: "#8a94a6", weight: 1.5, opacity: 0.8}, interactive: false}).addTo(map);
    if (net.attribution) map.attributionControl.addAttribution(net.attribution);
  }
  homeMarker = L.circleMarker(info.home, {radius: 6, color: "#555", fillOpacity: 0.6})
    .bindTooltip("home").addTo(map);
  waypointLayer = L.layerGroup().addTo(map);
  tripLayer = L.layerGroup().addTo(map);
  routeLine = L.polyline([], {color: "#1565c0", weight: 5, opacity: 0.85}).addTo(map);
  map.on("click", onMapClick);
}

function currentTab() {
  return document.querySelector("#tabs button.active").dataset.tab;
}

function onMapClick(e) {
  const p = [+e.latlng.lat.toFixed(6), +e.latlng.lng.toFixed(6)];
  if (currentTab() === "drive") {
    state.waypoints.push(p);
    replan();
  } else if (currentTab() === "ride") {
    const field = state.clickFor;
    state[field] = p;
    $("request-" + field).value = p[0] + ", " + p[1];
    state.clickFor = field === "pickup" ? "dropoff" : "pickup";
    drawTrip();
  }
}

function drawWaypoints() {
  waypointLayer.clearLayers();
  state.waypoints.forEach((p, i) => {
    const last = i === state.waypoints.length - 1 && i > 0;
    L.circleMarker(p, {radius: 6, color: i === 0 ? "#2e7d32" : last ? "#c62828" : "#1565c0",
      fillOpacity: 0.9}).addTo(waypointLayer);
  });
}

async function replan() {
  drawWaypoints();
  const ticket = ++state.planned;
  if (state.waypoints.length < 2) {
    state.plan = null;
    routeLine.setLatLngs([]);
    $("route-summary").textContent = state.waypoints.length ? "Click your destination." : "No route yet.";
    updateCostEstimate();
    return;
  }
  try {
    const plan = await api("POST", "/v1/route", {waypoints: state.waypoints});
    if (ticket !== state.planned) return;
    state.plan = plan;
    routeLine.setLatLngs(plan.route);
    const via = plan.backend === "straight" ? "straight lines" : plan.network || plan.backend;
    $("route-summary").textContent =
      `Route ${km(plan.length_m)}, about ${mins(plan.duration_s)} (${via}).`;
    formError("offer-error", "");
  } catch (err) {
    if (ticket !== state.planned) return;
    state.plan = null;
    routeLine.setLatLngs([]);
    state.waypoints.pop();
    drawWaypoints();
    formError("offer-error", "That point cannot be routed: " + err.message);
  }
  updateCostEstimate();
}

function costTerms() {
  const currency = $("offer-currency").value.trim().toUpperCase();
  if (!currency) return null;
  return {currency, base_minor: +$("offer-base").value || 0, per_km_minor: +$("offer-per-km").value || 0};
}

function updateCostEstimate() {
  const cost = costTerms();
  const out = $("offer-cost-estimate");
  if (!cost || !state.plan) {
    out.textContent = cost ? "" : "No money asked: riders earn you tokens only.";
    return;
  }
  const whole = cost.base_minor + Math.round(cost.per_km_minor * state.plan.length_m / 1000);
  out.textContent = `A rider along the whole route would pay ${money(whole, cost.currency)}.`;
}

function drawTrip() {
  tripLayer.clearLayers();
  if (state.pickup) L.circleMarker(state.pickup, {radius: 7, color: "#2e7d32", fillOpacity: 0.9})
    .bindTooltip("pickup").addTo(tripLayer);
  if (state.dropoff) L.circleMarker(state.dropoff, {radius: 7, color: "#c62828", fillOpacity: 0.9})
    .bindTooltip("drop-off").addTo(tripLayer);
}

// -- offering (driver)

async function submitOffer(e) {
  e.preventDefault();
  formError("offer-error", "");
  const problem = checkOffer();
  if (problem) {
    formError("offer-error", problem);
    return;
  }
  const start = inputMs("offer-depart");
  const body = {
    route: state.plan.route,
    departure: {start_ms: start, end_ms: start + (+$("offer-flex").value || 0) * MINUTE},
    duration_s: Math.max(1, Math.round(state.plan.duration_s)),
    seats: +$("offer-seats").value,
    max_detour_m: +$("offer-detour-m").value,
    max_detour_s: (+$("offer-detour-min").value) * 60,
  };
  const cost = costTerms();
  if (cost) body.cost = cost;
  const days = repeatDays();
  if (days.length) {
    const at = $("offer-depart").value.slice(11, 16);
    const flex_min = +$("offer-flex").value || 0;
    delete body.departure;
    try {
      const s = await api("POST", "/v1/schedules",
        {offer: body, days, time: at, flex_min, lead_min: +$("offer-lead").value});
      notice(`Recurring offer ${s.schedule_id.slice(0, 8)}: ${days.join(", ")} at ${at}; next ${when(s.next_departure_ms)}.`, "ok");
      refresh();
    } catch (err) {
      formError("offer-error", err.message);
    }
    return;
  }
  try {
    const offer = await api("POST", "/v1/offers", body);
    notice(`Offer ${short(offer.offer_id)} published: ${offer.free_seats} seat(s).`, "ok");
    refresh();
  } catch (err) {
    formError("offer-error", err.message);
  }
}

function checkOffer() {
  if (!state.plan || state.waypoints.length < 2) {
    return "No route: click at least two points on the map (start and destination).";
  }
  const seats = $("offer-seats").value;
  if (!/^\d+$/.test(seats) || +seats < 1 || +seats > 8) {
    return `Seats must be a whole number from 1 to 8 (you gave ${seats || "nothing"}).`;
  }
  const start = inputMs("offer-depart");
  if (Number.isNaN(start)) return "Give the time you leave.";
  const end = start + (+$("offer-flex").value || 0) * MINUTE;
  if (!/^\d+$/.test($("offer-lead").value)) return "Publish ahead must be a whole number of minutes.";
  if (end < Date.now() && !repeatDays().length) {
    return `The departure window ends in the past (${when(end)}): choose a later time.`;
  }
  for (const [id, what] of [["offer-detour-m", "Most detour (m)"], ["offer-detour-min", "Most detour (min)"],
                            ["offer-flex", "Flexible by"], ["offer-base", "Per rider"], ["offer-per-km", "Per km"]]) {
    if (!/^\d+$/.test($(id).value)) return `${what} must be a whole number, 0 or more.`;
  }
  const currency = $("offer-currency").value.trim();
  if (currency && !/^[A-Za-z]{3}$/.test(currency)) {
    return `Currency must be a 3-letter ISO code such as ILS or EUR (you gave ${currency}).`;
  }
  return null;
}

function repeatDays() {
  return [...document.querySelectorAll("#offer-repeat input[type=checkbox]:checked")].map((c) => c.value);
}

function renderSchedules(schedules) {
  $("schedules").replaceChildren(...schedules.map((s) =>
    el("li", {class: "card", "data-schedule": s.schedule_id},
      el("div", {class: "title"}, `${s.days.join(", ")} at ${s.time}`),
      el("div", {class: "muted"}, `next departure ${when(s.next_departure_ms)} · published ${s.lead_min} min ahead · ${s.published.length} offer(s) so far`),
      el("button", {type: "button", onclick: async () => {
        try { await api("POST", `/v1/schedules/${s.schedule_id}/delete`); refresh(); } catch (err) { notice(err.message); }
      }}, "Stop repeating"))));
  if (!schedules.length) $("schedules").append(el("li", {class: "muted"}, "None: tick days above to repeat an offer."));
}

// -- requesting (rider)

async function resolvePlace(field, label) {
  const text = $("request-" + field).value.trim();
  if (!text) throw new Error(`Give a ${label}: type a place or lat, lon, or click the map.`);
  if (state[field] && text === state[field][0] + ", " + state[field][1]) return state[field];
  const found = await api("GET", "/v1/places?q=" + encodeURIComponent(text));
  if (found.length === 0) {
    throw new Error(`Unknown address for the ${label}: “${text}”. Type lat, lon, a known place, or click the map.`);
  }
  if (found.length > 1) {
    const names = found.slice(0, 4).map((p) => p.name).join(", ");
    throw new Error(`“${text}” could be ${found.length} places (${names}…): be more precise.`);
  }
  return found[0].point;
}

async function submitRequest(e) {
  e.preventDefault();
  formError("request-error", "");
  const seats = $("request-seats").value;
  const start = inputMs("request-at");
  const end = start + (+$("request-flex").value || 0) * MINUTE;
  let pickup, dropoff;
  try {
    pickup = await resolvePlace("pickup", "pickup");
    dropoff = await resolvePlace("dropoff", "drop-off");
    if (!/^\d+$/.test(seats) || +seats < 1 || +seats > 8) {
      throw new Error(`Seats must be a whole number from 1 to 8 (you gave ${seats || "nothing"}).`);
    }
    if (Number.isNaN(start)) throw new Error("Give the earliest pickup time.");
    if (end < Date.now()) {
      throw new Error(`The pickup window ends in the past (${when(end)}): choose a later time.`);
    }
    if (!/^\d+$/.test($("request-walk").value)) throw new Error("Most walk must be a whole number of metres.");
  } catch (err) {
    formError("request-error", err.message);
    return;
  }
  state.pickup = pickup;
  state.dropoff = dropoff;
  drawTrip();
  try {
    const req = await api("POST", "/v1/requests", {
      pickup, dropoff, window: {start_ms: start, end_ms: end},
      seats: +seats, max_walk_m: +$("request-walk").value,
    });
    notice(`Request ${short(req.request_id)} published (only its coarse cells).`, "ok");
    refresh();
  } catch (err) {
    formError("request-error", err.message);
  }
}

// -- lists

let refreshTimer = null;
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 150);
}

let refreshing = null;
async function refresh() {
  if (refreshing) {
    refreshing.again = true;
    return;
  }
  refreshing = {again: false};
  try {
    const [status, offers, requests, rides, balance, receipts, schedules] = await Promise.all([
      api("GET", "/v1/status"), api("GET", "/v1/offers"), api("GET", "/v1/requests"),
      api("GET", "/v1/rides"), api("GET", "/v1/balance"), api("GET", "/v1/receipts"),
      api("GET", "/v1/schedules"),
    ]);
    const open = [...offers.filter((o) => o.status === "open").map((o) => o.offer_id),
                  ...requests.filter((r) => r.status === "open").map((r) => r.request_id)];
    const found = await Promise.all(open.map((id) => api("GET", "/v1/candidates/" + id).catch(() => [])));
    state.candidates = Object.fromEntries(open.map((id, i) => [id, found[i]]));
    state.rides = rides;
    renderStatus(status, balance);
    renderOffers(offers);
    renderSchedules(schedules);
    renderRequests(requests);
    renderRides(rides);
    renderWallet(balance, receipts);
    renderHistory(offers, requests, rides);
  } catch (err) {
    notice("The node did not answer: " + err.message);
  } finally {
    const again = refreshing.again;
    refreshing = null;
    if (again) scheduleRefresh();
  }
}

function renderStatus(status, balance) {
  $("me").textContent = `${status.member_id.slice(0, 14)}… · ${status.connected} peer(s)`;
  $("me").title = status.member_id;
  $("balance-badge").textContent = tokens(balance.balance_milli) + " tokens";
  const active = state.rides.filter((r) => !TERMINAL.has(r.state)).length;
  $("rides-count").textContent = active ? String(active) : "";
}

function renderOffers(offers) {
  const ul = $("offers");
  ul.replaceChildren(...offers.slice().reverse().map((o) => {
    const matches = state.candidates[o.offer_id] || [];
    return el("li", {class: "card", "data-offer": o.offer_id},
      el("div", {class: "title"}, `Offer ${short(o.offer_id)} `, el("span", {class: "status " + o.status}, o.status)),
      el("div", {}, `${o.free_seats}/${o.seats} seats free · leaves ${when(o.departure.start_ms)}–${when(o.departure.end_ms)}`),
      el("div", {class: "muted"}, `detour ≤ ${o.max_detour_m} m / ${mins(o.max_detour_s)} · ${o.cost.currency === "XXX" ? "no money asked" : money(o.cost.base_minor, o.cost.currency) + " + " + money(o.cost.per_km_minor, o.cost.currency) + "/km"}`),
      matches.length ? el("div", {class: "muted"}, `${matches.length} rider(s) nearby could ride with you`) : null,
      o.status === "open" ? el("button", {type: "button", onclick: () => withdraw("offers", o.offer_id)}, "Withdraw") : null);
  }));
}

function renderRequests(requests) {
  const ul = $("requests");
  ul.replaceChildren(...requests.slice().reverse().map((r) => {
    const matches = state.candidates[r.request_id] || [];
    const list = r.status === "open" ? el("ul", {class: "candidates"}, matches.map((m) =>
      el("li", {class: "candidate", "data-offer": m.offer_id},
        el("div", {}, `Driver ${m.driver.member_id.slice(0, 12)}… · pickup ${when(m.pickup_ms)}`),
        el("div", {class: "reputation", "data-count": m.reputation ? m.reputation.count : 0}, "Driver's rating: " + reputationText(m.reputation)),
        el("div", {class: "muted"}, `wait ${mins(m.wait_s)} · detour ${Math.round(m.detour_m)} m / ${mins(m.detour_s)} · walk ${Math.round(m.walk_m)} m · shared ${km(m.shared_m)} · cost ${m.cost_minor ? (m.cost_minor / 100).toFixed(2) : "none"}`),
        el("button", {type: "button", class: "primary", onclick: () => propose(r.request_id, m)}, "Ask this driver")))) : null;
    return el("li", {class: "card", "data-request": r.request_id},
      el("div", {class: "title"}, `Request ${short(r.request_id)} `, el("span", {class: "status " + r.status}, r.status)),
      el("div", {}, `${r.seats} seat(s) · pickup ${when(r.window.start_ms)}–${when(r.window.end_ms)}`),
      r.status === "open" && !matches.length ? el("div", {class: "muted"}, "Looking for drivers…") : null,
      list,
      r.status === "open" ? el("button", {type: "button", onclick: () => withdraw("requests", r.request_id)}, "Withdraw") : null);
  }));
}

const NEXT = {
  driver: {
    proposed: "A rider asks to join: accept or decline.",
    accepted: "Waiting for the rider's exact points…",
    revealed: "The rider's points fit: confirm the pickup.",
    confirmed: "Drive to the pickup; ask the rider for their PIN.",
    picked_up: "Rider aboard: finish at the drop-off.",
    dropped_off: "Signing the receipt…",
    receipt_proposed: "Waiting for the rider to countersign the receipt.",
    unsigned: "The rider has not countersigned yet.",
    done: "Done: receipt co-signed.",
    cancelled: "Cancelled.",
  },
  rider: {
    proposed: "Waiting for the driver to accept.",
    accepted: "Accepted: sending your exact points…",
    revealed: "Waiting for the driver to confirm.",
    confirmed: "Confirmed: tell the driver your PIN at pickup.",
    picked_up: "On the way.",
    dropped_off: "Dropped off: the receipt is coming.",
    receipt_proposed: "Check the ride and countersign the receipt.",
    done: "Done: receipt co-signed.",
    cancelled: "Cancelled.",
  },
};

let ridesShown = "";
function renderRides(rides) {
  $("rides-empty").hidden = rides.length > 0;
  // Re-render only on a change, so a PIN or distance being typed is not wiped by a refresh.
  const shown = JSON.stringify([rides, state.shared]);
  if (shown === ridesShown) return;
  ridesShown = shown;
  $("rides").replaceChildren(...rides.slice().reverse().map(rideCard));
}

function draft(id, field, attrs) {
  // An input whose text survives re-rendering (kept in state.drafts until the step is sent).
  const key = id + ":" + field;
  return el("input", {...attrs, value: state.drafts[key] || "",
    oninput: (e) => { state.drafts[key] = e.target.value; }});
}

function rideCard(r) {
  const id = r.ride_id;
  const actions = [];
  const act = (label, command, body, cls) =>
    el("button", {type: "button", class: cls || "", "data-action": command,
      onclick: () => rideStep(id, command, body ? body() : undefined)}, label);
  if (r.role === "driver") {
    if (r.state === "proposed") {
      actions.push(act("Accept", "accept", null, "primary"));
      actions.push(reasonPicker(id, "decline", DECLINE_REASONS, "Decline"));
    }
    if (r.state === "revealed") {
      actions.push(act("Confirm pickup", "confirm", null, "primary"));
      actions.push(reasonPicker(id, "decline", DECLINE_REASONS, "Decline"));
    }
    if (r.state === "confirmed") {
      const pin = draft(id, "pin", {class: "pin", inputmode: "numeric", placeholder: "rider's PIN", "aria-label": "PIN"});
      actions.push(pin, el("button", {type: "button", class: "primary", "data-action": "pickup",
        onclick: () => pin.value.trim()
          ? rideStep(id, "pickup", {pin: pin.value.trim()})
          : rideError(id, "Type the PIN the rider tells you.")}, "Picked up"));
    }
    if (r.state === "picked_up") {
      const driven = draft(id, "distance", {class: "distance", type: "number", min: "0",
        placeholder: "metres (as planned)", "aria-label": "distance driven"});
      actions.push(driven, el("button", {type: "button", class: "primary", "data-action": "finish",
        onclick: () => {
          const m = driven.value.trim();
          if (m && !/^\d+$/.test(m)) return rideError(id, "Distance driven must be whole metres, or empty for the planned distance.");
          rideStep(id, "finish", m ? {distance_m: +m} : {});
        }}, "Finish ride"));
    }
  } else if (r.state === "receipt_proposed") {
    actions.push(act("Sign receipt", "sign", null, "primary"));
  }
  if (r.state === "done" && r.rating === null) actions.push(...starPicker(id));
  if (!TERMINAL.has(r.state) && !["dropped_off", "receipt_proposed", "unsigned"].includes(r.state)) {
    actions.push(reasonPicker(id, "cancel", CANCEL_REASONS, "Cancel ride"));
  }
  if (!TERMINAL.has(r.state)) {
    actions.push(el("button", {type: "button", "data-action": "share", onclick: () => shareRide(id)}, "Share trip"));
  }
  const ending = r.endings.length
    ? el("div", {class: "muted"}, "Ended: " + r.endings.map((e) => `${e.by} ${e.reason.replaceAll("_", " ")}`).join(", "))
    : null;
  return el("li", {class: "card ride " + r.state, "data-ride": id, "data-state": r.state},
    el("div", {class: "title"}, `Ride ${short(id)} · ${r.role} `, el("span", {class: "status " + r.state}, r.state.replaceAll("_", " "))),
    el("div", {}, `with ${r.counterparty.member_id.slice(0, 14)}… · ${r.seats} seat(s)` + (r.pickup_ms ? ` · pickup ${when(r.pickup_ms)}` : "")),
    r.pin && r.role === "rider" && !TERMINAL.has(r.state) ? el("div", {class: "pin-show"}, "Your PIN ", el("strong", {class: "pin-value"}, r.pin)) : null,
    el("div", {class: "next"}, NEXT[r.role][r.state] || ""),
    el("div", {class: "reputation", "data-count": r.counterparty_reputation.count},
      `Their rating: ${reputationText(r.counterparty_reputation)}`),
    r.rating !== null ? el("div", {class: "rating given", "data-rating": r.rating},
      "You rated them ", el("span", {class: "stars"}, starsText(r.rating)), ` ${r.rating}/5`) : null,
    ending,
    state.shared[id] ? el("p", {class: "share-link"}, "Share this read-only link: ",
      el("input", {readonly: true, value: state.shared[id], "aria-label": "share link", onfocus: (e) => e.target.select()})) : null,
    el("p", {class: "form-error ride-error", role: "alert", hidden: true}),
    el("div", {class: "row"}, actions));
}

function starPicker(id) {
  // 1..5 stars for the other party of a done ride: pick, then send. Only once (SPEC §8.7).
  const key = id + ":stars";
  const stars = [1, 2, 3, 4, 5].map((n) => el("button", {type: "button", class: "star",
    "data-stars": n, "aria-label": `${n} star${n > 1 ? "s" : ""}`,
    "aria-pressed": String(Number(state.drafts[key]) >= n),
    onclick: (e) => {
      state.drafts[key] = String(n);
      for (const b of e.target.parentNode.querySelectorAll(".star")) {
        b.setAttribute("aria-pressed", String(Number(b.dataset.stars) <= n));
      }
      rideError(id, "");
    }}, "★"));
  const send = el("button", {type: "button", class: "primary", "data-action": "rate",
    onclick: () => {
      const n = Number(state.drafts[key]);
      if (!Number.isInteger(n) || n < 1 || n > 5) return rideError(id, "Choose 1 to 5 stars first, then rate.");
      rideStep(id, "rating", {stars: n});
    }}, "Rate");
  return [el("span", {class: "stars-pick", role: "group", "aria-label": "rate the other party"}, stars), send];
}

function reasonPicker(id, command, reasons, label) {
  const select = el("select", {"aria-label": label + " reason", "data-reason": command},
    reasons.map((r) => el("option", {value: r}, r.replaceAll("_", " "))));
  return el("span", {class: "reason"}, select,
    el("button", {type: "button", "data-action": command,
      onclick: () => rideStep(id, command, {reason: select.value})}, label));
}

function rideError(id, text) {
  const card = document.querySelector(`[data-ride="${id}"] .ride-error`);
  if (card) {
    card.textContent = text;
    card.hidden = !text;
  }
}

async function rideStep(id, command, body) {
  try {
    await api("POST", `/v1/rides/${id}/${command}`, body || {});
    refresh();
  } catch (err) {
    rideError(id, err.message);
  }
}

async function shareRide(id) {
  try {
    const link = await api("POST", `/v1/rides/${id}/share`);
    state.shared[id] = location.origin + link.path;
    renderRides(state.rides);
  } catch (err) {
    rideError(id, err.message);
  }
}

async function propose(requestId, match) {
  try {
    const ride = await api("POST", "/v1/rides",
      {request_id: requestId, offer_id: match.offer_id, driver: match.driver.public_key});
    notice(`Asked the driver: ride ${short(ride.ride_id)} proposed.`, "ok");
    selectTab("rides");
    refresh();
  } catch (err) {
    notice(err.message);
  }
}

async function withdraw(kind, id) {
  try {
    await api("POST", `/v1/${kind}/${id}/withdraw`);
    refresh();
  } catch (err) {
    notice(err.message);
  }
}

function renderWallet(balance, receipts) {
  $("wallet-balance").textContent = tokens(balance.balance_milli);
  $("my-reputation").textContent = reputationText(balance.reputation);
  $("my-reputation").dataset.count = balance.reputation.count;
  const me = state.info.public_key;
  $("credit-lines").replaceChildren(...balance.lines.map((l) => {
    const who = l.driver.public_key === me ? "you (driver)" : `driver ${l.driver.member_id.slice(0, 12)}…`;
    return el("li", {"data-ride": l.ride_id, "data-credited": l.credited_milli},
      el("strong", {class: "credited"}, `+${tokens(l.credited_milli)}`), ` to ${who}: `, l.text);
  }));
  if (!balance.lines.length) $("credit-lines").append(el("li", {class: "muted"}, "No credit yet: drive someone."));
  $("receipts").querySelector("tbody").replaceChildren(...receipts.slice().reverse().map((h) =>
    el("tr", {"data-ride": h.receipt.ride_id},
      el("td", {}, when(h.receipt.ended_ms)),
      el("td", {}, short(h.receipt.ride_id)),
      el("td", {}, h.receipt.driver.public_key === me ? "driver" : "rider"),
      el("td", {}, (h.receipt.distance_m / 1000).toFixed(1)),
      el("td", {}, h.half),
      el("td", {}, h.verdict || "pending"),
      el("td", {}, tokens(h.credited_milli)),
      el("td", {class: "rated"}, h.rating === null ? "" : `${h.rating}/5`))));
}

function renderHistory(offers, requests, rides) {
  const rows = [
    ...offers.map((o) => ({at: o.created_ms, what: "offer", status: o.status, id: o.offer_id})),
    ...requests.map((r) => ({at: r.created_ms, what: "request", status: r.status, id: r.request_id})),
    ...rides.map((r) => ({at: r.pickup_ms || 0, what: `ride (${r.role})`, status: r.state, id: r.ride_id})),
  ].sort((a, b) => b.at - a.at);
  $("history").querySelector("tbody").replaceChildren(...rows.map((r) =>
    el("tr", {}, el("td", {}, r.at ? when(r.at) : "–"), el("td", {}, r.what),
      el("td", {}, r.status.replaceAll("_", " ")), el("td", {}, short(r.id)))));
}

function renderEvents() {
  $("events").replaceChildren(...state.events.map((e) =>
    el("li", {}, el("span", {class: "muted"}, new Date(e.at).toLocaleTimeString() + " "), e.text)));
}

// -- tabs and start

function selectTab(name) {
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.tab === name);
  for (const s of document.querySelectorAll(".tab")) s.hidden = s.id !== "tab-" + name;
  if (map) map.invalidateSize();
}

function takeToken() {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem("lazooz-token", decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname); // keep it out of the address bar
  }
  return sessionStorage.getItem("lazooz-token");
}

async function start() {
  state.token = takeToken();
  if (!state.token) {
    notice("This page needs your node's token: open it with the link `lazooz app` prints.");
    return;
  }
  for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => selectTab(b.dataset.tab));
  $("offer-form").addEventListener("submit", submitOffer);
  $("request-form").addEventListener("submit", submitRequest);
  $("route-undo").addEventListener("click", () => { state.waypoints.pop(); replan(); });
  $("route-clear").addEventListener("click", () => { state.waypoints = []; replan(); });
  for (const id of ["offer-currency", "offer-base", "offer-per-km"]) $(id).addEventListener("input", updateCostEstimate);
  for (const field of ["pickup", "dropoff"]) {
    $("request-" + field).addEventListener("focus", () => { state.clickFor = field; });
  }
  const soon = Math.ceil((Date.now() + 5 * MINUTE) / (5 * MINUTE)) * 5 * MINUTE;
  $("offer-depart").value = localInput(soon);
  $("request-at").value = localInput(soon);
  try {
    state.info = await api("GET", "/v1/app");
  } catch (err) {
    notice(err.status === 401
      ? "The node refused this page's token: open the page again with the link `lazooz app` prints."
      : "The node did not answer: " + err.message);
    if (err.status === 401) sessionStorage.removeItem("lazooz-token");
    return;
  }
  const r = state.info.router;
  $("router-note").textContent = r.backend === "straight"
    ? "No road network here: the route is the points you click, joined by straight lines."
    : `Routes follow the roads (${r.network || r.backend}).`;
  setupNotifications();
  await setupMap();
  updateCostEstimate();
  document.body.dataset.ready = "true";
  await refresh();
  listen();
}

window.addEventListener("DOMContentLoaded", start);
