// The chat in the widget's frame. A shop visitor talks with the assistant without an account
// (/api/v1/widget/…, the conversation's random id as its key) and leaves an e-mail or a wallet
// address when a person must take over; a customer may instead sign in with the API (a session
// token kept in this frame's sessionStorage, sent as a Bearer token: no cookie, no CSRF).
// A conversation speaks one language, the one its first turn chose: the buttons follow it.
// Every text is written with textContent: what anyone types stays text. The one exception is
// the assistant's answer, which the server sends already rendered and sanitised (reply.html).
"use strict";
(function () {
  const root = document.getElementById("widget");
  const TEXTS = JSON.parse(root.dataset.texts);
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
  const T = () => TEXTS[state.locale] || TEXTS[root.dataset.locale] || TEXTS.en;

  function save() {
    state.shown = Array.from(shown).slice(-500);
    store.setItem(KEY, JSON.stringify(state));
  }

  function fail(text) {
    $("widget-error").textContent = text || T().failed;
    $("widget-error").hidden = false;
  }

  // The fixed texts of the chat, in the conversation's language.
  function label() {
    const t = T();
    $("w-text").placeholder = t.placeholder;
    document.querySelector("label[for=w-text]").textContent = t.placeholder;
    $("w-send").textContent = t.send;
    $("w-human").textContent = t.human;
    document.querySelector("label[for=w-contact]").textContent = t.contact;
    $("widget-contact").querySelector("button").textContent = t.contact_send;
  }

  async function api(method, path, body) {
    const headers = { "Content-Type": "application/json" };
    if (state.token) headers.Authorization = "Bearer " + state.token;
    const response = await fetch("/api/v1" + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
    });
    if (response.status === 401 && state.token) {
      state = {}; save(); show();
      throw new Error("signed out");
    }
    if (!response.ok) {
      const error = new Error(String(response.status));
      error.status = response.status;
      throw error;
    }
    return response.status === 204 ? null : response.json();
  }

  function say(who, text, extra, author, html) {
    const item = document.createElement("li");
    item.className = "bubble " + who;
    const name = document.createElement("span");
    name.className = "who";
    name.textContent = author || T()[who] || who;
    const body = document.createElement("div");
    body.className = "body";
    if (html) {
      // The assistant's answer as the server rendered and sanitised it (domain/markdown.py:
      // an allowlist of tags and attributes, no script, no style): knowledge text, not what
      // anyone typed.
      body.classList.add("rendered");
      body.innerHTML = html;
    } else {
      body.textContent = text;
    }
    item.append(name, body);
    if (extra) item.append(extra);
    $("widget-log").append(item);
    // Only the log scrolls (a flex column: the log grows, the input stays in the frame).
    $("widget-log").scrollTop = $("widget-log").scrollHeight;
    return item;
  }

  function feedback(turn) {
    // The answer's text already asks whether it helped: here, the two answers to that.
    const box = document.createElement("div");
    box.className = "row feedback";
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", T().helped);
    for (const [text, helpful] of [[T().yes, true], [T().no, false]]) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.textContent = text;
      button.addEventListener("click", async () => {
        box.remove();
        try {
          const reply = state.token
            ? await api("POST", "/assistant/turns/" + turn + "/feedback", { helpful })
            : await api("POST", "/widget/turns/" + turn + "/feedback",
              { organization, conversation_id: state.conversation, helpful });
          if (reply) answered(reply);
        } catch (e) { fail(); }
      });
      box.append(button);
    }
    return box;
  }

  function answered(reply) {
    state.conversation = reply.conversation_id;
    state.locale = reply.locale || state.locale;
    label();
    say("assistant", reply.text, reply.kind === "answer" ? feedback(reply.turn_id) : null,
      null, reply.html);
    state.asking = Boolean(reply.needs_contact);
    if (reply.ticket_id && reply.ticket_id !== state.ticket) {
      state.ticket = reply.ticket_id;
      state.number = reply.ticket_number;
      state.asking = false;
      follow();
    }
    save();
    contact();
  }

  function contact() {
    $("widget-contact").hidden = !state.asking;
    if (state.asking) $("w-contact").focus();
  }

  async function send(text) {
    say("you", text);
    try {
      if (state.token) {
        answered(await api("POST", "/assistant/messages", {
          text, conversation_id: state.conversation || null,
        }));
      } else if (state.ticket) {
        await api("POST", "/widget/conversations/" + state.conversation + "/messages",
          { organization, text });
        shown.add("pending");
      } else {
        answered(await api("POST", "/widget/messages", {
          organization, text, conversation_id: state.conversation || null,
          locale: state.conversation ? null : (state.locale || null),
        }));
      }
    } catch (e) { fail(); }
  }

  async function showReplies() {
    if (!state.ticket) return;
    try {
      const messages = state.token
        ? await api("GET", "/tickets/" + state.ticket + "/messages")
        : await api("GET", "/widget/conversations/" + state.conversation +
          "/messages?organization=" + encodeURIComponent(organization));
      for (const m of messages) {
        if (shown.has(m.id)) continue;
        shown.add(m.id);
        const staff = state.token
          ? m.author_role !== "customer" && m.author_role !== "automation"
          : !m.mine && !m.automatic;
        if (staff) say("support", m.body, null, m.author);
      }
      save();
    } catch (e) { /* the next change tries again */ }
  }

  // Follow the hand-off ticket live. Signed in: one long-polling request at a time (the API
  // answers the moment the ticket changes, or after 25 s). A visitor reads the request's
  // public messages every few seconds. On an error, try again a little later.
  async function follow() {
    if (following) return;
    following = true;
    let after = -1;
    while (state.ticket) {
      try {
        if (state.token) {
          const changed = await api(
            "GET", "/tickets/" + state.ticket + "/changes?wait=25&after=" + after);
          if (changed.last_seq !== after) {
            after = changed.last_seq;
            await showReplies();
          }
        } else {
          await showReplies();
          await new Promise((resolve) => window.setTimeout(resolve, 3000));
        }
      } catch (e) {
        await new Promise((resolve) => window.setTimeout(resolve, 5000));
      }
    }
    following = false;
  }

  function show() {
    const signing = Boolean(state.signing) && !state.token;
    $("widget-login").hidden = !signing;
    $("widget-chat").hidden = signing;
    $("w-signin").hidden = Boolean(state.token) || Boolean(state.conversation);
    label();
    contact();
    if (!signing && state.ticket) follow();
  }

  $("widget-login").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("widget-error").hidden = true;
    try {
      const out = await api("POST", "/auth/login", {
        organization, email: $("w-email").value, password: $("w-password").value,
      });
      state = { token: out.token, locale: state.locale };
      save(); show();
      $("w-text").focus();
    } catch (e) { fail(); }
  });

  $("widget-contact").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("widget-error").hidden = true;
    const value = $("w-contact").value.trim();
    const email = /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value);
    const wallet = /^0x[0-9a-fA-F]{40}$/.test(value);
    if (!email && !wallet) { fail(T().contact_bad); return; }
    try {
      say("you", value);
      answered(await api("POST", "/widget/conversations/" + state.conversation + "/contact",
        { organization, contact: value }));
      $("w-contact").value = "";
    } catch (e) { fail(e.status === 422 ? T().contact_bad : T().failed); }
  });

  $("widget-form").addEventListener("submit", (event) => {
    event.preventDefault();
    $("widget-error").hidden = true;
    const text = $("w-text").value.trim();
    if (!text) return;
    $("w-text").value = "";
    send(text);
  });

  $("w-human").addEventListener("click", () => send(T().human));
  $("w-signin").addEventListener("click", () => { state.signing = true; save(); show(); });
  $("w-guest").addEventListener("click", () => { state.signing = false; save(); show(); });
  // The launcher on the platform's page hides the frame and reopens it; the frame only asks.
  $("w-close").addEventListener("click", () => {
    window.parent.postMessage({ proofdesk: "close" }, "*");
  });

  show();
})();
