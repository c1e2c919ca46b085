// The chat in the widget's frame. The customer signs in with the API (a session token kept in
// this frame's sessionStorage, sent as a Bearer token: no cookie, no CSRF), then talks with the
// assistant. Every text is written with textContent: what anyone types stays text.
"use strict";
(function () {
  const root = document.getElementById("widget");
  const T = JSON.parse(root.dataset.texts);
  const organization = root.dataset.organization;
  const $ = (id) => document.getElementById(id);
  // The frame's own storage keeps the chat across reloads; where the browser refuses storage
  // to framed third-party pages, the chat lasts as long as the page.
  const store = (() => {
    try {
      const s = window.sessionStorage;
      s.getItem("probe");
      return s;
    } catch (e) {
      const memory = new Map();
      return { getItem: (k) => memory.get(k) ?? null, setItem: (k, v) => memory.set(k, v) };
    }
  })();
  const KEY = "proofdesk-widget:" + organization;
  let state = JSON.parse(store.getItem(KEY) || "{}");
  const shown = new Set(state.shown || []);
  let following = false;

  function save() {
    state.shown = Array.from(shown).slice(-500);
    store.setItem(KEY, JSON.stringify(state));
  }

  function fail() {
    $("widget-error").hidden = false;
  }

  async function api(method, path, body) {
    const headers = { "Content-Type": "application/json" };
    if (state.token) headers.Authorization = "Bearer " + state.token;
    const response = await fetch("/api/v1" + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
    });
    if (response.status === 401) {
      state = {}; save(); show();
      throw new Error("signed out");
    }
    if (!response.ok) throw new Error(String(response.status));
    return response.status === 204 ? null : response.json();
  }

  function say(who, text, extra) {
    const item = document.createElement("li");
    item.className = "bubble " + who;
    const name = document.createElement("span");
    name.className = "who";
    name.textContent = T[who] || who;
    const body = document.createElement("div");
    body.className = "body";
    body.textContent = text;
    item.append(name, body);
    if (extra) item.append(extra);
    $("widget-log").append(item);
    item.scrollIntoView({ block: "end" });
    return item;
  }

  function feedback(turn) {
    // The answer's text already asks whether it helped: here, the two answers to that.
    const box = document.createElement("div");
    box.className = "row";
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", T.helped);
    for (const [label, helpful] of [[T.yes, true], [T.no, false]]) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.textContent = label;
      button.addEventListener("click", async () => {
        box.remove();
        try {
          const reply = await api("POST", "/assistant/turns/" + turn + "/feedback", { helpful });
          if (reply) answered(reply);
        } catch (e) { fail(); }
      });
      box.append(button);
    }
    return box;
  }

  function answered(reply) {
    state.conversation = reply.conversation_id;
    say("assistant", reply.text, reply.kind === "answer" ? feedback(reply.turn_id) : null);
    if (reply.ticket_id && reply.ticket_id !== state.ticket) {
      state.ticket = reply.ticket_id;
      state.number = reply.ticket_number;
      follow();
    }
    save();
  }

  async function send(text) {
    say("you", text);
    try {
      answered(await api("POST", "/assistant/messages", {
        text, conversation_id: state.conversation || null,
      }));
    } catch (e) { fail(); }
  }

  async function showReplies() {
    if (!state.ticket) return;
    try {
      const messages = await api("GET", "/tickets/" + state.ticket + "/messages");
      for (const m of messages) {
        if (shown.has(m.id)) continue;
        shown.add(m.id);
        if (m.author_role !== "customer" && m.author_role !== "automation") say("support", m.body);
      }
      save();
    } catch (e) { /* the next change tries again */ }
  }

  // Follow the hand-off ticket live: one long-polling request at a time (the API answers the
  // moment the ticket changes, or after 25 s); on an error, try again a little later.
  async function follow() {
    if (following) return;
    following = true;
    let after = -1;
    while (state.token && state.ticket) {
      try {
        const changed = await api(
          "GET", "/tickets/" + state.ticket + "/changes?wait=25&after=" + after);
        if (changed.last_seq !== after) {
          after = changed.last_seq;
          await showReplies();
        }
      } catch (e) {
        await new Promise((resolve) => window.setTimeout(resolve, 5000));
      }
    }
    following = false;
  }

  function show() {
    const signed = Boolean(state.token);
    $("widget-login").hidden = signed;
    $("widget-chat").hidden = !signed;
    if (signed && state.ticket) follow();
  }

  $("widget-login").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("widget-error").hidden = true;
    try {
      const out = await api("POST", "/auth/login", {
        organization, email: $("w-email").value, password: $("w-password").value,
      });
      state = { token: out.token };
      save(); show();
      $("w-text").focus();
    } catch (e) { fail(); }
  });

  $("widget-form").addEventListener("submit", (event) => {
    event.preventDefault();
    $("widget-error").hidden = true;
    const text = $("w-text").value.trim();
    if (!text) return;
    $("w-text").value = "";
    send(text);
  });

  $("w-human").addEventListener("click", () => send(T.human));

  show();
})();
