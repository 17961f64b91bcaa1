// The dispatcher's live dashboard. Plain JavaScript, no dependency, no build step.
//
// State comes from two public sources (docs/api.md):
//   * snapshots from the admin HTTP API - GET admin/queue, admin/pending, admin/conversations?status=open -
//     read at start, every REFRESH_MS, and whenever the event stream may have missed something (reconnect,
//     a gap in `seq`, a `resync` frame);
//   * events from the admin socket (ws/admin), applied as they come.
// Frames that arrive while a snapshot is being read are applied at once *and* replayed on top of the
// snapshot: every change they make is either idempotent (a conversation's agent, a pending entry) or a move
// of an agent to the back of the queue, which gives the same order when replayed in sequence.
(() => {
  "use strict";

  const REFRESH_MS = 10000;
  const STATS_MS = 4000;
  const FEED_LIMIT = 80;
  const OPEN_PAGE = 500;
  const OPEN_PAGES = 4;
  const CUSTOMERS_KEPT = 5000;
  const TOKEN_KEY = "dispatcher.adminToken";
  // The app's root, from this page's path: "/" or "/prefix/" when the app is mounted under a prefix.
  const BASE = location.pathname.replace(/dashboard\/?$/, "");

  const state = {
    token: null,
    queue: [], // agent ids, head first
    agents: new Map(), // agent id -> {status, connections, assigned, lastAssignedAt}
    capacity: null,
    convAgent: new Map(), // open conversation id -> agent id
    customers: new Map(), // conversation id -> {id, name}
    pending: new Map(), // conversation id -> {since (ms), messages}
    socket: null,
    lastSeq: null,
    replay: null, // frames seen while a snapshot is read, or null
    refreshing: null,
    reconnectDelay: 1000,
    stopped: false,
  };

  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------- formatting

  function customerLabel(conversationId) {
    const customer = state.customers.get(conversationId);
    if (!customer) return "conversation " + conversationId.slice(0, 6);
    return customer.name || maskPhone(customer.id);
  }

  function maskPhone(id) {
    const digits = String(id || "");
    return digits.length > 6 ? "+" + digits.slice(0, 4) + " … " + digits.slice(-3) : digits;
  }

  function duration(ms) {
    const seconds = Math.max(0, Math.floor(ms / 1000));
    if (seconds < 60) return seconds + " s";
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min " + String(seconds % 60).padStart(2, "0") + " s";
    return Math.floor(minutes / 60) + " h " + String(minutes % 60).padStart(2, "0") + " min";
  }

  function clock(ms) {
    const date = new Date(ms);
    return [date.getHours(), date.getMinutes(), date.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
  }

  function initials(id) {
    const parts = id.split(/[^A-Za-z0-9]+/).filter(Boolean);
    const text = parts.length > 1 ? parts[0][0] + parts[1][0] : id.slice(0, 2);
    return text.toUpperCase();
  }

  function hue(id) {
    let h = 0;
    for (const c of id) h = (h * 31 + c.charCodeAt(0)) % 360;
    return h;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function setNumber(id, value) {
    const node = $(id);
    const text = value === null || value === undefined ? "–" : String(value);
    if (node.textContent !== text) {
      node.textContent = text;
      node.dataset.value = value === null || value === undefined ? "" : String(value);
      node.classList.remove("tick");
      void node.offsetWidth; // restart the animation
      node.classList.add("tick");
    }
  }

  // ---------------------------------------------------------------- state changes

  function agent(id) {
    let entry = state.agents.get(id);
    if (!entry) {
      entry = { status: "online", connections: 0, assigned: 0, lastAssignedAt: null, flash: false };
      state.agents.set(id, entry);
    }
    return entry;
  }

  function loads() {
    const counts = new Map();
    for (const agentId of state.convAgent.values()) counts.set(agentId, (counts.get(agentId) || 0) + 1);
    return counts;
  }

  function setQueue(ids) {
    state.queue = ids.slice();
    for (const id of ids) {
      const entry = agent(id);
      if (entry.status !== "online") entry.status = "online";
    }
  }

  function moveToBack(id) {
    const index = state.queue.indexOf(id);
    if (index >= 0) {
      state.queue.splice(index, 1);
      state.queue.push(id);
    }
  }

  function rememberCustomer(conversationId, customerId, name) {
    if (!customerId) return;
    const known = state.customers.get(conversationId);
    if (!known && state.customers.size >= CUSTOMERS_KEPT) forgetOldCustomers();
    state.customers.set(conversationId, { id: customerId, name: name || (known && known.name) || null });
    if (!known) {
      // Feed lines written before the customer was known ("conversation 1a2b3c") get the name now.
      for (const node of document.querySelectorAll('[data-ref="' + CSS.escape(conversationId) + '"]')) {
        node.textContent = customerLabel(conversationId);
      }
    }
  }

  // Names of conversations that are neither open nor waiting any more, oldest first, beyond a bound: a
  // dashboard left open for days must not grow without end.
  function forgetOldCustomers() {
    let excess = state.customers.size - CUSTOMERS_KEPT / 2;
    for (const id of state.customers.keys()) {
      if (excess <= 0) break;
      if (!state.convAgent.has(id) && !state.pending.has(id)) {
        state.customers.delete(id);
        excess -= 1;
      }
    }
  }

  // A part of a feed line naming a conversation's customer (filled in later if not known yet).
  function who(conversationId) {
    return { ref: conversationId };
  }

  // Applies one admin frame; returns the feed entry it makes, if any. `live` is false when replaying.
  function apply(frame, live) {
    switch (frame.type) {
      case "hello":
        setQueue((frame.queue || []).map((p) => p.agent_id));
        $("instance").textContent = "instance " + frame.instance_id;
        return null;
      case "queue.updated":
        setQueue(frame.positions.map((p) => p.agent_id));
        return live && {
          kind: "queue",
          tag: "queue",
          text: [state.queue.length ? "Queue: " + state.queue.join(" → ") : "Queue is empty: nobody online"],
        };
      case "agent.status": {
        const entry = agent(frame.agent_id);
        entry.status = frame.status;
        if (frame.status !== "online") {
          const index = state.queue.indexOf(frame.agent_id);
          if (index >= 0) state.queue.splice(index, 1);
        }
        const words = { online: "is online", grace: "left: grace period started", offline: "is offline" };
        return live && { kind: "agent-" + frame.status, tag: frame.status, text: [frame.agent_id + " " + (words[frame.status] || frame.status)] };
      }
      case "conversation.assigned": {
        rememberCustomer(frame.conversation_id, frame.customer_id, frame.customer_name);
        state.convAgent.set(frame.conversation_id, frame.agent_id);
        state.pending.delete(frame.conversation_id);
        moveToBack(frame.agent_id);
        if (!live) return null;
        const entry = agent(frame.agent_id);
        entry.assigned += 1;
        entry.lastAssignedAt = Date.now();
        entry.flash = true;
        const why = {
          new: "new conversation",
          pending: "was waiting",
          response_timeout: "no answer from " + (frame.previous_agent_id || "its agent") + " in time",
        };
        return {
          kind: "assigned",
          tag: "assigned",
          text: [who(frame.conversation_id), " → " + frame.agent_id],
          detail: why[frame.reason] || frame.reason,
        };
      }
      case "message.received": {
        if (frame.agent_id) state.convAgent.set(frame.conversation_id, frame.agent_id);
        if (!live) return null;
        const text = (frame.message && frame.message.text) || "(" + ((frame.message && frame.message.kind) || "message") + ")";
        return {
          kind: "message",
          tag: "message",
          text: [who(frame.conversation_id), " → " + frame.agent_id],
          detail: "“" + (text.length > 70 ? text.slice(0, 69) + "…" : text) + "”",
        };
      }
      case "conversation.pending": {
        const known = state.pending.get(frame.conversation_id);
        state.pending.set(frame.conversation_id, {
          since: known ? known.since : Date.parse(frame.since),
          messages: known ? known.messages : 1,
        });
        state.convAgent.delete(frame.conversation_id);
        if (live) schedulePendingRefresh();
        return live && { kind: "pending", tag: "pending", text: [who(frame.conversation_id), " is waiting"], detail: "no agent can take it now" };
      }
      case "conversation.released": {
        if (state.convAgent.get(frame.conversation_id) === frame.agent_id) state.convAgent.delete(frame.conversation_id);
        const why = { disconnected: "agent gone after the grace period", response_timeout: "no answer in time" };
        return live && {
          kind: "released",
          tag: "released",
          text: [frame.agent_id + " released ", who(frame.conversation_id)],
          detail: why[frame.reason] || frame.reason,
        };
      }
      case "conversation.closed": {
        state.convAgent.delete(frame.conversation_id);
        state.pending.delete(frame.conversation_id);
        const how = frame.reason === "agent" ? "closed by " + (frame.agent_id || "its agent") : "closed (" + frame.reason + ")";
        return live && { kind: "closed", tag: "closed", text: [who(frame.conversation_id)], detail: how };
      }
      case "resync":
        refresh();
        return live && { kind: "system", tag: "resync", text: ["Event stream reconnected: state re-read"] };
      default:
        return null;
    }
  }

  // ---------------------------------------------------------------- HTTP snapshots

  class AuthError extends Error {}

  async function api(path) {
    const response = await fetch(BASE + path, {
      headers: { Authorization: "Bearer " + state.token },
      cache: "no-store",
    });
    if (response.status === 401) throw new AuthError("the admin token was refused");
    if (!response.ok) throw new Error(path + ": HTTP " + response.status);
    return response.json();
  }

  async function openConversations() {
    const found = [];
    for (let page = 0; page < OPEN_PAGES; page++) {
      const body = await api("admin/conversations?status=open&limit=" + OPEN_PAGE + "&offset=" + page * OPEN_PAGE);
      found.push(...body.conversations);
      if (body.conversations.length < OPEN_PAGE) break;
    }
    return found;
  }

  function refresh() {
    if (!state.refreshing) {
      state.refreshing = doRefresh().finally(() => {
        state.refreshing = null;
      });
    }
    return state.refreshing;
  }

  async function doRefresh() {
    state.replay = [];
    try {
      const [queue, pending, open] = await Promise.all([api("admin/queue"), api("admin/pending"), openConversations()]);
      applySnapshot(queue, pending, open);
      const replay = state.replay;
      state.replay = null;
      for (const frame of replay) apply(frame, false);
      scheduleRender();
    } catch (error) {
      state.replay = null;
      handleError(error);
    }
  }

  function applySnapshot(queue, pending, open) {
    state.capacity = queue.capacity;
    const queued = [];
    const seen = new Set();
    for (const row of queue.agents) {
      const entry = agent(row.agent_id);
      entry.status = row.status;
      entry.connections = row.connections;
      seen.add(row.agent_id);
      if (row.position !== null) queued.push([row.position, row.agent_id]);
    }
    queued.sort((a, b) => a[0] - b[0]);
    state.queue = queued.map((pair) => pair[1]);
    // Agents the API no longer lists are offline with nothing left: keep their cards, greyed.
    for (const [id, entry] of state.agents) if (!seen.has(id)) entry.status = "offline";

    state.convAgent.clear();
    for (const conversation of open) {
      rememberCustomer(conversation.id, conversation.customer_id, conversation.customer_name);
      if (conversation.agent_id) state.convAgent.set(conversation.id, conversation.agent_id);
    }
    state.pending.clear();
    for (const conversation of pending.conversations) {
      rememberCustomer(conversation.id, conversation.customer_id, conversation.customer_name);
      state.pending.set(conversation.id, {
        since: Date.parse(conversation.pending_since || conversation.opened_at),
        messages: conversation.pending_messages,
      });
    }
  }

  let pendingTimer = null;
  function schedulePendingRefresh() {
    if (pendingTimer) return;
    pendingTimer = setTimeout(async () => {
      pendingTimer = null;
      try {
        const pending = await api("admin/pending");
        for (const conversation of pending.conversations) {
          rememberCustomer(conversation.id, conversation.customer_id, conversation.customer_name);
          const entry = state.pending.get(conversation.id);
          if (entry) entry.messages = conversation.pending_messages;
        }
        scheduleRender();
      } catch (error) {
        handleError(error);
      }
    }, 400);
  }

  async function refreshStats() {
    try {
      const stats = await api("admin/stats");
      const byReason = stats.assignments && stats.assignments.by_reason;
      setNumber("kpi-received", stats.messages && stats.messages.webhook ? stats.messages.webhook.accepted : null);
      setNumber("kpi-assigned", byReason ? Object.values(byReason).reduce((a, b) => a + b, 0) : null);
      setNumber("kpi-replies", stats.replies && typeof stats.replies.recorded === "number" ? stats.replies.recorded : null);
      // A message that joins a conversation already waiting makes no event: re-read the counts.
      if (state.pending.size) schedulePendingRefresh();
      const sender = stats.replies && stats.replies.sender;
      await refreshBreaker(sender);
    } catch (error) {
      handleError(error);
    }
  }

  // The sender's breaker is the Prometheus gauge whatsapp_circuit_breaker_state (0 closed, 1 half-open,
  // 2 open) when the app exports it; otherwise "n/a".
  async function refreshBreaker(sender) {
    const pill = $("breaker");
    let label = "n/a";
    let stateName = "na";
    let title = "No WhatsApp sender breaker is exported by this app";
    if (sender) title += " (replies go to: " + sender + ")";
    try {
      const response = await fetch(BASE + "metrics", { cache: "no-store" });
      if (response.ok) {
        const text = await response.text();
        const match = text.match(/^whatsapp_circuit_breaker_state(?:\{[^}]*\})?\s+([0-9.eE+-]+)\s*$/m);
        if (match) {
          const value = Math.round(Number(match[1]));
          [label, stateName] = [["closed", "closed"], ["half-open", "half-open"], ["open", "open"]][value] || ["n/a", "na"];
          title = "WhatsApp sender circuit breaker: " + label;
        }
      }
    } catch (error) {
      // metrics are optional: keep "n/a"
    }
    pill.dataset.state = stateName;
    pill.title = title;
    pill.querySelector("b").textContent = label;
  }

  // ---------------------------------------------------------------- the admin socket

  function connect() {
    if (state.stopped) return;
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const url = scheme + location.host + BASE + "ws/admin?token=" + encodeURIComponent(state.token);
    const socket = new WebSocket(url);
    state.socket = socket;
    state.lastSeq = null;
    setConnection("connecting");
    socket.onmessage = (message) => {
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch (error) {
        return;
      }
      if (frame.type === "hello") {
        state.reconnectDelay = 1000;
        setConnection("live");
        apply(frame, true);
        refresh();
        scheduleRender();
        return;
      }
      if (typeof frame.seq === "number") {
        if (state.lastSeq !== null && frame.seq !== state.lastSeq + 1) refresh(); // missed frames
        state.lastSeq = frame.seq;
      }
      if (state.replay) state.replay.push(frame);
      const entry = apply(frame, true);
      if (entry) addFeed(entry);
      scheduleRender();
    };
    socket.onclose = (event) => {
      if (state.socket !== socket) return;
      state.socket = null;
      if (event.code === 4401) {
        showLogin("The admin token was refused.");
        return;
      }
      setConnection("reconnecting");
      const delay = state.reconnectDelay;
      state.reconnectDelay = Math.min(delay * 2, 8000);
      setTimeout(connect, delay);
    };
  }

  function setConnection(name) {
    const pill = $("connection");
    pill.dataset.state = name;
    pill.querySelector("b").textContent = name;
  }

  // ---------------------------------------------------------------- rendering

  let renderQueued = false;
  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => {
      renderQueued = false;
      render();
    });
  }

  function render() {
    renderAgents();
    renderPending();
    renderKpis();
  }

  function renderKpis() {
    let online = 0;
    for (const entry of state.agents.values()) if (entry.status === "online") online += 1;
    setNumber("kpi-online", online);
    setNumber("kpi-queued", state.queue.length);
    setNumber("kpi-open", state.convAgent.size + state.pending.size);
    setNumber("kpi-pending", state.pending.size);
    let messages = 0;
    for (const entry of state.pending.values()) messages += entry.messages;
    setNumber("kpi-pending-messages", messages);
    setNumber("pending-count", state.pending.size);
  }

  const cards = new Map();

  function card(id) {
    let node = cards.get(id);
    if (node) return node;
    node = el("li", "agent");
    node.dataset.agentId = id;
    node.style.setProperty("--hue", hue(id));
    const top = el("div", "agent-top");
    top.append(el("span", "avatar", initials(id)));
    const who = el("div", "who");
    who.append(el("span", "name", id), el("span", "status"));
    top.append(who, el("span", "badge"));
    const load = el("div", "load");
    const bar = el("div", "bar");
    bar.append(el("span", "fill"));
    load.append(el("span", "load-text"), bar);
    const foot = el("div", "agent-foot");
    foot.title = "Conversations assigned to this agent since this page was opened";
    node.append(top, load, foot);
    cards.set(id, node);
    return node;
  }

  function renderAgents() {
    const list = $("agents");
    const before = new Map();
    for (const node of list.children) before.set(node.dataset.agentId, node.getBoundingClientRect());

    const counts = loads();
    const away = [...state.agents.keys()]
      .filter((id) => !state.queue.includes(id) && (state.agents.get(id).status !== "offline" || counts.get(id)))
      .sort();
    const gone = [...state.agents.keys()].filter((id) => !state.queue.includes(id) && !away.includes(id)).sort();
    const order = [...state.queue, ...away, ...gone];
    const maxLoad = Math.max(1, state.capacity || 0, ...counts.values());
    const now = Date.now();

    order.forEach((id, index) => {
      const entry = state.agents.get(id) || agent(id);
      const node = card(id);
      const queued = index < state.queue.length;
      const load = counts.get(id) || 0;
      const status = queued ? "online" : entry.status;
      node.dataset.position = queued ? String(index + 1) : "";
      node.dataset.status = status;
      node.dataset.load = String(load);
      node.classList.toggle("away", !queued);
      node.classList.toggle("next", queued && index === 0);
      node.querySelector(".status").textContent = { online: "online", grace: "grace period", offline: "offline" }[status] || status;
      node.querySelector(".badge").textContent = queued ? (index === 0 ? "next" : "#" + (index + 1)) : status === "grace" ? "away" : "off";
      const full = state.capacity && load >= state.capacity;
      node.classList.toggle("full", Boolean(full));
      node.querySelector(".load-text").textContent =
        load + (state.capacity ? " / " + state.capacity : "") + (load === 1 ? " conversation" : " conversations") + (full ? " · full" : "");
      node.querySelector(".fill").style.width = Math.min(100, (100 * load) / maxLoad) + "%";
      node.querySelector(".agent-foot").textContent = entry.assigned
        ? entry.assigned + " assigned · last " + duration(now - entry.lastAssignedAt) + " ago"
        : "no assignment yet";
      if (node.parentNode !== list || list.children[index] !== node) list.insertBefore(node, list.children[index] || null);
      if (entry.flash) {
        entry.flash = false;
        node.classList.remove("flash");
        void node.offsetWidth;
        node.classList.add("flash");
      }
    });
    for (const node of [...list.children]) {
      if (!order.includes(node.dataset.agentId)) node.remove();
    }
    $("agents-empty").hidden = order.length > 0;

    // Slide the cards from where they were to where they are (FLIP).
    for (const node of list.children) {
      const was = before.get(node.dataset.agentId);
      if (!was || !node.animate) continue;
      const is = node.getBoundingClientRect();
      const dx = was.left - is.left;
      const dy = was.top - is.top;
      if (Math.abs(dx) > 1 || Math.abs(dy) > 1) {
        node.animate([{ transform: `translate(${dx}px, ${dy}px)` }, { transform: "none" }], {
          duration: 450,
          easing: "cubic-bezier(.2,.8,.2,1)",
        });
      }
    }
  }

  const pendingRows = new Map();

  function renderPending() {
    const list = $("pending");
    const items = [...state.pending.entries()].sort((a, b) => a[1].since - b[1].since);
    const now = Date.now();
    const wanted = new Set(items.map((item) => item[0]));
    for (const [id, node] of pendingRows) {
      if (!wanted.has(id)) {
        node.remove();
        pendingRows.delete(id);
      }
    }
    items.forEach(([id, entry], index) => {
      let node = pendingRows.get(id);
      if (!node) {
        node = el("li", "pending-item");
        node.dataset.conversationId = id;
        const who = el("div", "who");
        who.append(el("span", "name"), el("span", "sub"));
        node.append(el("span", "wait-dot"), who, el("span", "wait"));
        pendingRows.set(id, node);
      }
      const customer = state.customers.get(id);
      node.querySelector(".name").textContent = customerLabel(id);
      node.querySelector(".sub").textContent =
        (customer && customer.name ? maskPhone(customer.id) + " · " : "") +
        entry.messages + (entry.messages === 1 ? " message" : " messages") + " waiting";
      const waited = now - entry.since;
      const wait = node.querySelector(".wait");
      wait.textContent = duration(waited);
      node.classList.toggle("long", waited > 30000);
      if (list.children[index] !== node) list.insertBefore(node, list.children[index] || null);
    });
    $("pending-empty").hidden = items.length > 0;
  }

  function addFeed(entry) {
    const list = $("feed");
    const item = el("li", "event event-" + entry.kind);
    item.append(el("time", "when", clock(Date.now())), el("span", "tag", entry.tag));
    const body = el("span", "what");
    for (const part of entry.text) {
      if (typeof part === "string") {
        body.append(part);
      } else {
        const name = el("span", "customer", customerLabel(part.ref));
        name.dataset.ref = part.ref;
        body.append(name);
      }
    }
    if (entry.detail) body.append(el("span", "detail", " " + entry.detail));
    item.append(body);
    list.prepend(item);
    while (list.children.length > FEED_LIMIT) list.lastElementChild.remove();
    $("feed-empty").hidden = true;
  }

  // ---------------------------------------------------------------- token and start

  function handleError(error) {
    if (error instanceof AuthError) {
      showLogin("The admin token was refused.");
    } else {
      console.warn("dashboard:", error);
    }
  }

  function readToken() {
    const params = new URLSearchParams(location.search);
    const fromUrl = params.get("token");
    if (fromUrl) {
      sessionStorage.setItem(TOKEN_KEY, fromUrl);
      params.delete("token");
      const rest = params.toString();
      history.replaceState(null, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
      return fromUrl;
    }
    return sessionStorage.getItem(TOKEN_KEY);
  }

  function showLogin(message) {
    state.stopped = true;
    const socket = state.socket;
    state.socket = null;
    if (socket) socket.close();
    sessionStorage.removeItem(TOKEN_KEY);
    setConnection("signed out");
    $("login").hidden = false;
    const error = $("login-error");
    error.hidden = !message;
    error.textContent = message || "";
    $("login-token").focus();
  }

  function start(token) {
    state.token = token;
    state.stopped = false;
    $("login").hidden = true;
    connect();
  }

  function main() {
    $("login-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const token = $("login-token").value.trim();
      if (!token) return;
      sessionStorage.setItem(TOKEN_KEY, token);
      start(token);
      refreshStats();
    });
    $("forget-token").addEventListener("click", () => showLogin(""));
    setInterval(() => {
      if (!state.stopped && state.socket && state.socket.readyState === WebSocket.OPEN) refresh();
    }, REFRESH_MS);
    setInterval(() => {
      if (!state.stopped) refreshStats();
    }, STATS_MS);
    setInterval(() => {
      if (!state.stopped) scheduleRender(); // waiting times and "last assigned" tick
    }, 1000);

    const token = readToken();
    if (token) {
      start(token);
      refreshStats();
    } else {
      showLogin("");
    }
  }

  main();
})();
