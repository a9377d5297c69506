/*
 * Helpdesk customer chat widget. One tag on any site:
 *   <script src="https://HOST/static/widget/helpdesk-widget.js" data-helpdesk="https://HOST" defer></script>
 * Plain JavaScript, no build step. It speaks the widget protocol: POST {base}/api/widget/sessions/ for a
 * token, then {wsBase}/ws/widget/?token=... Hooks for tests and theming: static/widget/README.md.
 * The source is ASCII only (\u escapes): a host page without a charset would read us as windows-1252.
 */
(function () {
  "use strict";

  // A page that carries the tag twice (a template and a CMS block, say) gets one widget.
  if (window.HelpdeskWidget) return;

  const MAX_CHARS = 4000;
  const COUNTER_FROM = 3500;
  const TYPING_SEND_EVERY_MS = 2000;
  const TYPING_SHOW_MS = 4000;
  const BACKOFF_FIRST_MS = 500;
  const BACKOFF_MAX_MS = 30000;
  const TOKEN_REFUSED_CODES = [4401, 4403];
  const HOST_ID = "helpdesk-widget";
  const OFFLINE_TEXT = "You're offline right now. Please try again in a moment.";
  const ERROR_TEXT = {
    too_long: "Messages can be at most 4,000 characters",
    rate_limited: "You're sending messages too fast",
    closed: "This chat has ended",
    forbidden: "That isn't allowed here",
  };
  const SUBTITLES = { bot: "Our assistant is here to help", waiting: "Waiting for a person to join\u2026", closed: "This chat has ended" };

  const ownScript = findOwnScript();
  const base = deskBaseUrl(ownScript);
  if (!base) {
    console.warn("helpdesk-widget: no usable data-helpdesk URL, so the chat is not shown.");
    return;
  }
  const wsBase = base.replace(/^http/, "ws");
  const KEYS = { session: "helpdesk:session:" + base, outbox: "helpdesk:outbox:" + base };

  const state = {
    session: null, // {token, conversation, name, email, emailLeft}, mirrored in localStorage
    socket: null,
    connected: false,
    ready: false, // connected and this socket's first resume is done: the outbox may go out
    resuming: false,
    attempt: 0,
    reconnectTimer: 0,
    dropped: false,
    quiet: true, // history replayed on page load is rendered, not announced or counted as unread
    lastSeq: 0, // highest seq rendered
    resumeSeq: 0, // every customer-visible seq up to here is rendered; resume asks for what follows
    lastCustomerSeq: 0,
    messages: new Map(), // seq -> element, so each seq renders once
    pending: new Map(), // client_id -> placeholder bubble, until acked
    ackedSeqs: new Map(), // seq -> acked placeholder, until its message.new arrives
    sentOnSocket: new Set(),
    outbox: [], // [{client_id, text}], mirrored in localStorage
    conversation: null, // the last conversation.state frame
    open: false,
    unread: 0,
    typingSentAt: 0,
    typingTimer: 0,
    rating: 0,
    ratingTouched: false,
    ratingSent: false,
    recommendationsTimer: 0,
  };
  let host = null;
  let ui = null;

  window.HelpdeskWidget = Object.freeze({ open: openPanel, close: closePanel, state: publicState });

  // ---- Where the desk is -------------------------------------------------------------------------------

  function findOwnScript() {
    if (document.currentScript) return document.currentScript;
    // currentScript is null when a tag manager evaluates us; the hashed name is ManifestStaticFilesStorage's.
    const tags = Array.from(document.querySelectorAll("script[src]")).filter((tag) =>
      /helpdesk-widget(\.[0-9a-f]+)?\.js([?#].*)?$/.test(tag.src),
    );
    return tags[tags.length - 1] || null;
  }

  function deskBaseUrl(tag) {
    if (!tag) return null;
    try {
      const url = new URL(tag.getAttribute("data-helpdesk") || new URL(tag.src).origin, location.href);
      if (url.protocol !== "http:" && url.protocol !== "https:") return null;
      return (url.origin + url.pathname).replace(/\/+$/, "");
    } catch (error) {
      return null;
    }
  }

  // ---- Storage -------------------------------------------------------------------------------------------

  function readStored(key) {
    try {
      return JSON.parse(localStorage.getItem(key) || "null");
    } catch (error) {
      return null;
    }
  }

  function writeStored(key, value) {
    try {
      if (value === null) localStorage.removeItem(key);
      else localStorage.setItem(key, JSON.stringify(value));
    } catch (error) {
      // Blocked or full storage: the chat still works on this page, it just won't survive a reload.
    }
  }

  function parseSession(value) {
    return value && typeof value.token === "string" && value.token ? value : null;
  }

  function parseOutbox(value) {
    if (!Array.isArray(value)) return [];
    return value.filter((item) => item && typeof item.client_id === "string" && typeof item.text === "string");
  }

  function saveOutbox() {
    writeStored(KEYS.outbox, state.outbox.length ? state.outbox : null);
    syncHost();
  }

  function removeFromOutbox(clientId) {
    state.sentOnSocket.delete(clientId);
    const kept = state.outbox.filter((item) => item.client_id !== clientId);
    if (kept.length === state.outbox.length) return;
    state.outbox = kept;
    saveOutbox();
  }

  // ---- Small helpers -----------------------------------------------------------------------------------

  function el(tag, props, children) {
    // The only way this file makes DOM: text goes in through textContent, never as markup.
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = String(value);
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children || []) if (child) node.append(child);
    return node;
  }

  function chatIcon() {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
    path.setAttribute("fill", "currentColor");
    svg.append(path);
    return svg;
  }

  function newClientId() {
    const cryptoApi = window.crypto;
    // randomUUID exists only in secure contexts, and a demo served on http://10.0.0.5 is not one.
    if (cryptoApi && typeof cryptoApi.randomUUID === "function") return cryptoApi.randomUUID();
    const bytes = new Uint8Array(16);
    if (cryptoApi && cryptoApi.getRandomValues) cryptoApi.getRandomValues(bytes);
    else for (let i = 0; i < 16; i += 1) bytes[i] = Math.floor(Math.random() * 256);
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4, so a server that validates uuid4 accepts it
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  function charCount(text) {
    // Code points, like the server's len(): an emoji is one character, not two UTF-16 units.
    return Array.from(text).length;
  }

  function safeUrl(url) {
    if (typeof url !== "string" || !/^(https?:\/\/|\/)/i.test(url)) return null;
    try {
      // Relative article links belong to the desk, not to the page that embeds us.
      const resolved = new URL(url, base + "/");
      return /^https?:$/.test(resolved.protocol) ? resolved.href : null;
    } catch (error) {
      return null;
    }
  }

  function announce(text) {
    // Appending a line to the polite region reads it once; lines go away so the region stays short.
    if (!ui || !text) return;
    const line = el("div", { text });
    ui.live.append(line);
    setTimeout(() => line.remove(), 7000);
  }

  function sendFrame(frame) {
    const socket = state.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  // ---- Building the UI ---------------------------------------------------------------------------------

  function mount() {
    if (document.getElementById(HOST_ID)) return;
    host = el("div", { id: HOST_ID });
    const root = host.attachShadow({ mode: "open" }); // open, so browser tests can reach inside
    ui = buildUI();
    root.append(el("style", { text: CSS }), ui.launcher, ui.panel, ui.live);
    root.addEventListener("keydown", onWidgetKeydown); // on the root, so Escape works from the launcher too
    document.body.append(host);
    window.addEventListener("online", onBrowserOnline);
    boot();
  }

  function buildUI() {
    const refs = {};
    refs.badge = el("span", { class: "hd-badge", "aria-hidden": "true", hidden: true });
    refs.launcher = el(
      "button",
      { type: "button", class: "hd-launcher", "aria-label": "Chat with us", "aria-expanded": "false",
        "aria-controls": "hd-panel", onclick: togglePanel },
      [chatIcon(), refs.badge],
    );
    refs.subtitle = el("p", { class: "hd-subtitle", id: "hd-subtitle" });
    refs.closeButton = el("button", { type: "button", class: "hd-close", "aria-label": "Close chat", text: "\u00d7",
      onclick: closePanel });
    refs.banner = el("p", { class: "hd-banner", role: "status", hidden: true, text: "Reconnecting\u2026" });
    const header = el("header", { class: "hd-header" }, [
      el("div", {}, [el("h2", { id: "hd-title", class: "hd-title", text: ownScript.dataset.title || "Chat with us" }),
        refs.subtitle]),
      refs.closeButton,
    ]);
    refs.panel = el(
      "section",
      { id: "hd-panel", class: "hd-panel", role: "dialog", "aria-labelledby": "hd-title",
        "aria-describedby": "hd-subtitle", hidden: true },
      [header, refs.banner, buildPrechat(refs), buildChat(refs)],
    );
    refs.live = el("div", { class: "hd-sr-only hd-live", "aria-live": "polite" });
    return refs;
  }

  function field(id, label, control) {
    return el("div", { class: "hd-field" }, [el("label", { for: id, text: label }), control]);
  }

  function buildPrechat(refs) {
    refs.nameInput = el("input", { id: "hd-name", name: "name", type: "text", required: true, maxlength: 100,
      autocomplete: "name" });
    refs.emailInput = el("input", { id: "hd-email", name: "email", type: "email", maxlength: 254,
      autocomplete: "email" });
    refs.prechatMessage = el("p", { class: "hd-form-message", hidden: true });
    refs.startButton = el("button", { type: "submit", class: "hd-primary", text: "Start chat" });
    refs.prechat = el("form", { class: "hd-prechat", "aria-label": "Start a chat", novalidate: true,
      onsubmit: onPrechatSubmit }, [
      el("p", { text: "Tell us your name and our assistant or one of our team will help you." }),
      field("hd-name", "Name", refs.nameInput),
      field("hd-email", "Email (optional)", refs.emailInput),
      refs.prechatMessage,
      refs.startButton,
    ]);
    return refs.prechat;
  }

  function buildChat(refs) {
    // tabindex: keyboard users can scroll the history.
    refs.log = el("ol", { class: "hd-log", "aria-label": "Messages", tabindex: "0" });
    refs.typing = el("p", { class: "hd-typing", hidden: true });
    refs.handoff = el("button", { type: "button", class: "hd-handoff", text: "Talk to a person",
      onclick: onHandoffClick });
    refs.input = el("textarea", { id: "hd-input", class: "hd-input", rows: 1, placeholder: "Type your message\u2026",
      "aria-describedby": "hd-counter", onkeydown: onInputKeydown, oninput: onInputChange });
    refs.counter = el("span", { id: "hd-counter", class: "hd-counter", hidden: true });
    refs.sendButton = el("button", { type: "submit", class: "hd-send", text: "Send" });
    refs.composer = el("form", { class: "hd-composer", "aria-label": "Send a message", onsubmit: onComposerSubmit }, [
      el("label", { for: "hd-input", class: "hd-sr-only", text: "Message" }),
      refs.input,
      refs.sendButton,
      refs.counter,
    ]);
    refs.recommendations = el("ul", { class: "hd-recs-list" });
    refs.recs = el("section", { class: "hd-recs", hidden: true, "aria-label": "You may find these helpful" }, [
      el("h3", { class: "hd-recs-title", text: "You may find these helpful" }), refs.recommendations,
    ]);
    refs.chat = el("div", { class: "hd-chat", hidden: true }, [
      refs.log, refs.typing, buildOffline(refs), buildRating(refs), refs.recs,
      el("div", { class: "hd-actions" }, [refs.handoff]), refs.composer,
    ]);
    return refs.chat;
  }

  function buildOffline(refs) {
    refs.offlineEmail = el("input", { id: "hd-offline-email", type: "email", required: true, maxlength: 254,
      autocomplete: "email" });
    refs.offlineForm = el("form", { class: "hd-offline-form", onsubmit: onOfflineSubmit }, [
      el("p", { text: "No agent is online right now. Leave your email and we'll answer by email." }),
      field("hd-offline-email", "Your email", refs.offlineEmail),
      el("button", { type: "submit", class: "hd-primary", text: "Send" }),
    ]);
    refs.offlineThanks = el("p", { class: "hd-offline-thanks", tabindex: "-1", hidden: true });
    refs.offline = el("div", { class: "hd-offline", hidden: true }, [refs.offlineForm, refs.offlineThanks]);
    return refs.offline;
  }

  function buildRating(refs) {
    refs.ratingTitle = el("p", { id: "hd-rating-title", class: "hd-rating-title", tabindex: "-1" });
    refs.stars = [1, 2, 3, 4, 5].map((rating) =>
      el("button", { type: "button", class: "hd-star", "aria-label": rating === 1 ? "1 star" : rating + " stars",
        "aria-pressed": "false", "data-rating": rating, text: "\u2605", onclick: () => selectRating(rating, true) }),
    );
    refs.ratingComment = el("textarea", { id: "hd-rating-comment", rows: 2, maxlength: 2000 });
    refs.ratingSubmit = el("button", { type: "submit", class: "hd-primary", text: "Submit", disabled: true });
    refs.rating = el("form", { class: "hd-rating", "aria-labelledby": "hd-rating-title", hidden: true,
      onsubmit: onRatingSubmit }, [
      refs.ratingTitle,
      el("div", { class: "hd-stars", role: "group", "aria-label": "Rating" }, refs.stars),
      field("hd-rating-comment", "Comment (optional)", refs.ratingComment),
      refs.ratingSubmit,
      el("button", { type: "button", class: "hd-link", text: "Start a new chat", onclick: onStartOver }),
    ]);
    return refs.rating;
  }

  // ---- Panel, views and host state ---------------------------------------------------------------------

  function boot() {
    state.outbox = parseOutbox(readStored(KEYS.outbox));
    const session = parseSession(readStored(KEYS.session));
    if (session) adoptSession(session);
    else showView("prechat");
  }

  function showView(view) {
    ui.prechat.hidden = view !== "prechat";
    ui.chat.hidden = view !== "chat";
    syncHost();
  }

  function togglePanel() {
    if (state.open) closePanel();
    else openPanel();
  }

  function openPanel() {
    if (!ui) return;
    state.open = true;
    state.unread = 0;
    ui.panel.hidden = false;
    ui.launcher.setAttribute("aria-expanded", "true");
    updateBadge();
    focusIntoPanel();
    scrollToEnd();
    syncHost();
  }

  function closePanel() {
    if (!ui) return;
    const focusWasInside = ui.panel.contains(host.shadowRoot.activeElement);
    state.open = false;
    ui.panel.hidden = true;
    ui.launcher.setAttribute("aria-expanded", "false");
    if (focusWasInside) ui.launcher.focus();
    syncHost();
  }

  function focusIntoPanel() {
    if (!state.session) ui.nameInput.focus();
    else if (!ui.input.disabled) ui.input.focus();
    else if (!ui.rating.hidden) ui.stars[0].focus();
    else ui.closeButton.focus();
  }

  function onWidgetKeydown(event) {
    // isComposing: Escape then cancels an IME composition, not the chat.
    if (event.key !== "Escape" || !state.open || event.isComposing) return;
    event.stopPropagation(); // the host page's own Escape handlers (its modals) are not ours to trigger
    closePanel();
  }

  function updateBadge() {
    const unread = state.unread;
    ui.badge.hidden = unread === 0;
    ui.badge.textContent = unread > 9 ? "9+" : String(unread);
    const label = unread ? `Chat with us, ${unread} new message${unread === 1 ? "" : "s"}` : "Chat with us";
    ui.launcher.setAttribute("aria-label", label);
  }

  function syncHost() {
    // data-* on the host element let a browser test wait on the widget without reaching into the shadow root.
    if (!host) return;
    Object.assign(host.dataset, {
      open: String(state.open),
      view: state.session ? "chat" : "prechat",
      connected: String(state.connected),
      ready: String(state.ready),
      lastSeq: String(state.lastSeq),
      outbox: String(state.outbox.length),
      conversation: state.session ? String(state.session.conversation) : "",
      conversationState: state.conversation ? String(state.conversation.state || "") : "",
    });
  }

  function publicState() {
    return {
      connected: state.connected,
      ready: state.ready,
      lastSeq: state.lastSeq,
      resumeSeq: state.resumeSeq,
      outbox: state.outbox.length,
      conversation: state.session ? state.session.conversation : null,
      conversationState: state.conversation ? state.conversation.state : null,
      open: state.open,
    };
  }

  // ---- Session -----------------------------------------------------------------------------------------

  async function onPrechatSubmit(event) {
    event.preventDefault();
    const name = ui.nameInput.value.trim();
    const email = ui.emailInput.value.trim();
    if (!name) return showPrechatMessage("Please tell us your name.", ui.nameInput);
    if (!ui.emailInput.checkValidity()) return showPrechatMessage("That email address doesn't look right.", ui.emailInput);
    showPrechatMessage("");
    ui.startButton.disabled = true;
    try {
      const created = await createSession(name, email);
      adoptSession({ token: created.token, conversation: created.conversation, name, email });
      focusIntoPanel();
    } catch (error) {
      showPrechatMessage(error.message, ui.nameInput);
    } finally {
      ui.startButton.disabled = false;
    }
  }

  async function createSession(name, email) {
    let response;
    try {
      // credentials "omit": the token is the credential; the desk's cookies have no business in this call.
      response = await fetch(base + "/api/widget/sessions/", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(email ? { name, email } : { name }),
        credentials: "omit",
      });
    } catch (error) {
      throw new Error("We couldn't reach the help desk. Please try again.");
    }
    const body = await response.json().catch(() => ({}));
    if (response.ok && parseSession(body)) return body;
    if (response.status === 400) throw new Error(fieldErrors(body));
    if (response.status === 403) throw new Error("Chat isn't available on this site.");
    throw new Error("Something went wrong starting the chat. Please try again.");
  }

  function fieldErrors(body) {
    const labels = { name: "Name", email: "Email" };
    const parts = Object.entries(body || {}).map(([name, errors]) => {
      const text = [].concat(errors).filter((error) => typeof error === "string").join(" ");
      return labels[name] && text ? labels[name] + ": " + text : text;
    });
    return parts.filter(Boolean).join(" ") || "Please check the form and try again.";
  }

  function showPrechatMessage(text, focusTarget) {
    ui.prechatMessage.textContent = text;
    ui.prechatMessage.hidden = !text;
    if (text) announce(text);
    if (text && focusTarget) focusTarget.focus();
  }

  function adoptSession(session) {
    disconnect();
    clearConversation();
    state.session = session;
    writeStored(KEYS.session, session);
    showView("chat");
    state.outbox.forEach(showPending);
    connect();
  }

  function dropSession(reason) {
    disconnect();
    const previous = state.session || {};
    state.session = null;
    writeStored(KEYS.session, null);
    writeStored(KEYS.outbox, null); // queued messages belonged to the conversation that token opened
    clearConversation();
    ui.nameInput.value = previous.name || ui.nameInput.value;
    ui.emailInput.value = previous.email || ui.emailInput.value;
    ui.banner.hidden = true;
    showView("prechat");
    showPrechatMessage(reason);
  }

  function clearConversation() {
    ui.log.textContent = "";
    for (const collection of [state.messages, state.pending, state.ackedSeqs, state.sentOnSocket]) collection.clear();
    Object.assign(state, { lastSeq: 0, resumeSeq: 0, lastCustomerSeq: 0, quiet: true, conversation: null,
      unread: 0, rating: 0, ratingTouched: false, ratingSent: false });
    state.outbox = parseOutbox(readStored(KEYS.outbox));
    ui.subtitle.textContent = "";
    ui.offline.hidden = ui.rating.hidden = ui.typing.hidden = true;
    ui.handoff.hidden = false;
    ui.ratingComment.value = "";
    selectRating(0, false);
    setComposerOpen(true);
    updateBadge();
    syncHost();
  }

  function onStartOver() {
    dropSession("");
    focusIntoPanel();
  }

  // ---- Connection --------------------------------------------------------------------------------------

  function connect() {
    clearTimeout(state.reconnectTimer);
    if (!state.session || state.socket) return;
    let socket;
    try {
      socket = new WebSocket(wsBase + "/ws/widget/?token=" + encodeURIComponent(state.session.token));
    } catch (error) {
      scheduleReconnect(); // e.g. ws:// refused from an https page: keep trying, the banner says so
      return;
    }
    state.socket = socket;
    // Handlers of a socket we have since replaced or closed must not touch the current state.
    socket.addEventListener("open", () => socket === state.socket && onOpen());
    socket.addEventListener("message", (event) => socket === state.socket && onFrame(event.data));
    socket.addEventListener("close", (event) => socket === state.socket && onClose(event));
  }

  function disconnect() {
    clearTimeout(state.reconnectTimer);
    const socket = state.socket;
    state.socket = null;
    state.connected = state.ready = state.resuming = false;
    if (socket) socket.close(1000);
    syncHost();
  }

  function onOpen() {
    state.connected = true;
    state.ready = state.resuming = false;
    state.sentOnSocket.clear();
    ui.banner.hidden = true;
    if (state.dropped) announce("Connected again");
    state.dropped = false;
    requestResume();
    requestRecommendations(0);
    syncHost();
  }

  function onClose(event) {
    state.socket = null;
    state.connected = state.ready = state.resuming = false;
    syncHost();
    if (TOKEN_REFUSED_CODES.includes(event.code)) {
      dropSession("Your chat session has expired. Please start a new chat.");
      return;
    }
    if (!state.dropped) announce("Connection lost. Reconnecting\u2026");
    state.dropped = true;
    ui.banner.hidden = false;
    scheduleReconnect();
  }

  function scheduleReconnect() {
    // Exponential backoff with jitter (50-100 % of the step), so a desk restart isn't hit by every tab at once.
    const step = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** state.attempt);
    state.attempt += 1;
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = setTimeout(connect, step * (0.5 + Math.random() * 0.5));
  }

  function onBrowserOnline() {
    if (!state.session || state.socket) return;
    state.attempt = 0; // the network is back: don't sit out a 30 s backoff step
    connect();
  }

  function requestResume() {
    if (state.resuming) return; // onResumeDone asks again if the replay left a hole
    if (sendFrame({ type: "resume", after_seq: state.resumeSeq })) state.resuming = true;
  }

  function onFrame(raw) {
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch (error) {
      return;
    }
    if (!frame || typeof frame !== "object") return;
    if (frame.type === "message.new") onMessageNew(frame.message || {});
    else if (frame.type === "message.ack") onAck(frame);
    else if (frame.type === "resume.done") onResumeDone(frame);
    else if (frame.type === "typing") onTyping(frame);
    else if (frame.type === "conversation.state") onConversationState(frame);
    else if (frame.type === "recommendations") onRecommendations(frame);
    else if (frame.type === "error") onError(frame);
  }

  // ---- "You may find these helpful": asked for when the chat connects and after each reply to the customer --

  function requestRecommendations(delay) {
    clearTimeout(state.recommendationsTimer);
    state.recommendationsTimer = setTimeout(() => {
      if (state.connected) sendFrame({ type: "recommendations.get" });
    }, delay);
  }

  function onRecommendations(frame) {
    const items = Array.isArray(frame.items) ? frame.items : [];
    ui.recommendations.replaceChildren();
    for (const item of items) {
      const href = item && safeUrl(item.url);
      if (!href || typeof item.item !== "string") continue;
      const link = el("a", { class: "hd-rec", href, target: "_blank", rel: "noopener noreferrer",
        onclick: () => sendFrame({ type: "recommendation.click", item: item.item }) }, [
        el("span", { class: "hd-rec-title", text: String(item.title || "") }),
        el("span", { class: "hd-rec-summary", text: String(item.summary || "") }),
      ]);
      ui.recommendations.append(el("li", {}, [link]));
    }
    ui.recs.hidden = ui.recommendations.childElementCount === 0;
  }

  function onResumeDone(frame) {
    const replayedTo = Number(frame.last_seq) || 0;
    const progressed = replayedTo > state.resumeSeq;
    state.resumeSeq = Math.max(state.resumeSeq, replayedTo);
    state.resuming = false;
    state.attempt = 0; // a full round trip worked, so the next drop starts the backoff from 0.5 s again
    if (state.lastSeq > state.resumeSeq) {
      // Frames beyond the replay arrived meanwhile. Ask again; if the replay added nothing, the holes are
      // agents' notes, which this side never sees.
      if (progressed) requestResume();
      else state.resumeSeq = state.lastSeq;
    }
    if (!state.ready) {
      state.ready = true;
      state.quiet = false;
      flushOutbox();
    }
    syncHost();
  }

  // ---- Messages ----------------------------------------------------------------------------------------

  function onMessageNew(message) {
    const seq = Number(message.seq);
    if (!Number.isInteger(seq) || seq < 1 || state.messages.has(seq)) return;
    if (seq > state.resumeSeq + 1) requestResume(); // a gap: a lost broadcast, or an agents' note
    const stick = isNearBottom();
    replacePlaceholder(message, seq);
    const node = renderMessage(message, seq);
    state.messages.set(seq, node);
    insertInOrder(node, seq);
    state.lastSeq = Math.max(state.lastSeq, seq);
    while (state.messages.has(state.resumeSeq + 1)) state.resumeSeq += 1;
    if (message.role === "customer") {
      state.lastCustomerSeq = Math.max(state.lastCustomerSeq, seq);
      retireQuickReplies(seq);
    } else {
      noteIncoming(message, node);
      if (!state.quiet) requestRecommendations(1500); // what the chat is about now steers them
    }
    if (stick || message.role === "customer") scrollToEnd();
    syncHost();
  }

  function replacePlaceholder(message, seq) {
    // message.new may lack the client_id: the ack's seq is what ties a placeholder to its stored message.
    const byClientId = message.client_id ? state.pending.get(message.client_id) : null;
    const placeholder = state.ackedSeqs.get(seq) || byClientId;
    if (!placeholder) return;
    state.ackedSeqs.delete(seq);
    if (byClientId) {
      state.pending.delete(message.client_id);
      removeFromOutbox(message.client_id);
    }
    placeholder.remove();
  }

  function renderMessage(message, seq) {
    const role = ["customer", "agent", "bot"].includes(message.role) ? message.role : "system";
    const node = el("li", { class: "hd-msg hd-msg--" + role, "data-seq": seq, "data-role": role }, [
      el("span", { class: "hd-author", text: authorLabel(message, role) }),
      el("p", { class: "hd-text", text: String(message.text || "") }),
      articleLink(message.article),
    ]);
    const replies = Array.isArray(message.quick_replies) ? message.quick_replies.filter((r) => typeof r === "string") : [];
    const answered = state.lastCustomerSeq > seq || (state.conversation && state.conversation.state === "closed");
    if (role !== "customer" && replies.length && !answered) node.append(quickReplies(replies));
    return node;
  }

  function authorLabel(message, role) {
    if (role === "customer") return "You";
    if (message.author_name) return String(message.author_name);
    return role === "bot" ? "Assistant" : role === "agent" ? "Support" : "Help desk";
  }

  function articleLink(article) {
    const href = article && safeUrl(article.url);
    if (!href) return null;
    return el("a", { class: "hd-article", href, target: "_blank", rel: "noopener noreferrer",
      text: "Read: " + String(article.title || "the article") });
  }

  function quickReplies(replies) {
    const group = el("div", { class: "hd-quick", role: "group", "aria-label": "Suggested replies" });
    for (const reply of replies) {
      group.append(el("button", { type: "button", class: "hd-quick-reply", text: reply, onclick: () => {
        group.remove();
        sendText(reply);
        ui.input.focus(); // the clicked button is gone; keep focus somewhere useful
      } }));
    }
    return group;
  }

  function retireQuickReplies(beforeSeq) {
    // Suggestions answer the latest question only; once the customer has spoken they are stale.
    for (const group of Array.from(ui.log.querySelectorAll(".hd-quick"))) {
      if (Number(group.closest(".hd-msg").dataset.seq) < beforeSeq) group.remove();
    }
  }

  function insertInOrder(node, seq) {
    // Stored messages sit in seq order; unacknowledged placeholders stay below all of them.
    for (const child of Array.from(ui.log.children)) {
      if (child.classList.contains("hd-placeholder") || Number(child.dataset.seq) > seq) {
        ui.log.insertBefore(node, child);
        return;
      }
    }
    ui.log.append(node);
  }

  function noteIncoming(message, node) {
    ui.typing.hidden = true;
    if (state.quiet) return;
    announce(node.querySelector(".hd-author").textContent + ": " + String(message.text || ""));
    if (state.open) return;
    state.unread += 1;
    updateBadge();
  }

  function showNotice(text, kind) {
    const stick = isNearBottom();
    ui.log.append(el("li", { class: "hd-notice hd-notice--" + (kind || "info"), text }));
    announce(text);
    if (stick) scrollToEnd();
  }

  function isNearBottom() {
    const log = ui.log;
    return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  }

  function scrollToEnd() {
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  // ---- Sending and the outbox --------------------------------------------------------------------------

  function sendText(text) {
    const item = { client_id: newClientId(), text };
    state.outbox.push(item);
    saveOutbox();
    showPending(item);
    retireQuickReplies(Infinity);
    if (state.ready) deliver(item); // otherwise flushOutbox sends it after the next resume
  }

  function showPending(item) {
    const node = el("li", { class: "hd-msg hd-msg--customer hd-msg--pending hd-placeholder",
      "data-client-id": item.client_id, "data-role": "customer" }, [
      el("span", { class: "hd-author", text: "You" }),
      el("p", { class: "hd-text", text: item.text }),
      el("span", { class: "hd-status", text: "sending\u2026" }),
    ]);
    state.pending.set(item.client_id, node);
    ui.log.append(node);
    scrollToEnd();
  }

  function deliver(item) {
    if (sendFrame({ type: "message.send", client_id: item.client_id, text: item.text })) {
      state.sentOnSocket.add(item.client_id);
    }
  }

  function flushOutbox() {
    // A resend after a lost ack is safe: the server answers the same client_id with the same seq.
    for (const item of state.outbox) if (!state.sentOnSocket.has(item.client_id)) deliver(item);
  }

  function onAck(frame) {
    const clientId = String(frame.client_id || "");
    const seq = Number(frame.seq);
    removeFromOutbox(clientId);
    const placeholder = state.pending.get(clientId);
    if (!placeholder) return; // sent from another tab, or already matched by client_id
    state.pending.delete(clientId);
    if (state.messages.has(seq)) {
      placeholder.remove(); // its message.new got here first
      return;
    }
    placeholder.classList.replace("hd-msg--pending", "hd-msg--acked");
    placeholder.dataset.ackedSeq = String(seq);
    placeholder.querySelector(".hd-status").textContent = "sent";
    state.ackedSeqs.set(seq, placeholder);
  }

  function onError(frame) {
    if (frame.code === "unavailable" && frame.retry && state.pending.has(String(frame.client_id || ""))) {
      retryLater(String(frame.client_id), Number(frame.retry_after) || 2);
      return;
    }
    const text = ERROR_TEXT[frame.code] || (frame.detail ? String(frame.detail) : "Something went wrong.");
    if (frame.client_id) markNotSent(String(frame.client_id), text);
    showNotice(text, "error");
  }

  function retryLater(clientId, seconds) {
    // The desk couldn't store it (its database was unreachable) and stored nothing: the message stays in the
    // outbox and goes again with the same client_id, which the desk stores once however often it arrives.
    state.sentOnSocket.delete(clientId);
    state.pending.get(clientId).querySelector(".hd-status").textContent = "retrying\u2026";
    setTimeout(() => state.ready && flushOutbox(), seconds * 1000 * (0.5 + Math.random()));
  }

  function markNotSent(clientId, reason) {
    removeFromOutbox(clientId);
    const placeholder = state.pending.get(clientId);
    if (!placeholder) return;
    state.pending.delete(clientId);
    placeholder.classList.remove("hd-msg--pending", "hd-placeholder");
    placeholder.classList.add("hd-msg--failed");
    placeholder.dataset.failed = "true";
    placeholder.querySelector(".hd-status").textContent = "Not sent: " + reason;
  }

  // ---- Composer ----------------------------------------------------------------------------------------

  function onComposerSubmit(event) {
    event.preventDefault();
    sendFromComposer();
  }

  function onInputKeydown(event) {
    // isComposing: Enter also confirms an IME composition (Japanese, Chinese) and must not send half a word.
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    sendFromComposer();
  }

  function sendFromComposer() {
    const text = ui.input.value.trim();
    if (!text || ui.input.disabled) return;
    if (charCount(text) > MAX_CHARS) {
      announce(ERROR_TEXT.too_long); // the counter already shows it
      return;
    }
    ui.input.value = "";
    onInputResize();
    updateCounter();
    sendText(text);
  }

  function onInputChange() {
    updateCounter();
    onInputResize();
    const now = Date.now();
    if (!ui.input.value || !state.ready || now - state.typingSentAt < TYPING_SEND_EVERY_MS) return;
    state.typingSentAt = now;
    sendFrame({ type: "typing" });
  }

  function onInputResize() {
    ui.input.style.height = "auto";
    ui.input.style.height = Math.min(ui.input.scrollHeight + 2, 140) + "px";
  }

  function updateCounter() {
    const count = charCount(ui.input.value);
    const over = count > MAX_CHARS;
    if (over && ui.counter.dataset.over !== "true") announce(ERROR_TEXT.too_long);
    ui.counter.hidden = count < COUNTER_FROM;
    ui.counter.textContent = count.toLocaleString("en-US") + " / 4,000" + (over ? ". " + ERROR_TEXT.too_long : "");
    ui.counter.dataset.over = String(over);
    ui.input.setAttribute("aria-invalid", String(over));
    ui.sendButton.disabled = over || ui.input.disabled;
  }

  function setComposerOpen(open) {
    // A closed chat takes no more messages; the rating form takes the composer's place.
    ui.composer.hidden = !open;
    ui.input.disabled = !open;
    if (!open) retireQuickReplies(Infinity);
    updateCounter();
  }

  function onHandoffClick() {
    if (sendFrame({ type: "handoff.request" })) announce("Asking for a person to join\u2026");
    else showNotice(OFFLINE_TEXT, "error");
  }

  // ---- Typing, conversation state, email, rating -------------------------------------------------------

  function onTyping(frame) {
    if (frame.role === "customer") return; // our own other tab
    const name = frame.name || (frame.role === "bot" ? "Assistant" : "Support");
    ui.typing.textContent = name + " is typing\u2026";
    ui.typing.hidden = false;
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(() => (ui.typing.hidden = true), TYPING_SHOW_MS);
  }

  function onConversationState(frame) {
    const before = state.conversation;
    state.conversation = frame;
    // A resolved chat keeps its assignee, but "You're chatting with Alice" would be wrong once it has ended.
    const withAgent = frame.assignee_name && frame.state !== "closed";
    const subtitle = withAgent ? "You're chatting with " + frame.assignee_name : SUBTITLES[frame.state] || "";
    // The first state of a page load is context, not news; later changes are announced.
    if (before && subtitle && subtitle !== ui.subtitle.textContent) announce(subtitle);
    ui.subtitle.textContent = subtitle;
    // The offline and rating forms take room from the log; keep its latest message in view if it was.
    const stick = isNearBottom();
    ui.handoff.hidden = frame.state !== "bot";
    renderOffline(frame);
    renderRating(frame);
    setComposerOpen(frame.state !== "closed");
    if (stick) scrollToEnd();
    syncHost();
  }

  function renderOffline(frame) {
    const noAgent = frame.state === "waiting" && (frame.agents_online === false || frame.email_requested === true);
    const left = state.session && state.session.emailLeft;
    ui.offline.hidden = !(noAgent || (left && frame.state !== "agent"));
    ui.offlineForm.hidden = Boolean(left);
    ui.offlineThanks.hidden = !left;
    ui.offlineThanks.textContent = left ? "Thanks, we'll email you at " + left + "." : "";
    if (!ui.offlineEmail.value && state.session) ui.offlineEmail.value = state.session.email || "";
  }

  function onOfflineSubmit(event) {
    event.preventDefault();
    const email = ui.offlineEmail.value.trim();
    if (!email || !ui.offlineEmail.checkValidity()) {
      ui.offlineEmail.reportValidity();
      return;
    }
    if (!sendFrame({ type: "email.submit", email })) return showNotice(OFFLINE_TEXT, "error");
    state.session.emailLeft = email;
    writeStored(KEYS.session, state.session);
    renderOffline(state.conversation || {});
    ui.offlineThanks.focus(); // the form that held focus is gone
    announce(ui.offlineThanks.textContent);
  }

  function renderRating(frame) {
    ui.rating.hidden = frame.state !== "closed";
    if (frame.state !== "closed") return;
    const rating = Number(frame.rating) || 0;
    if (rating && !state.ratingTouched) selectRating(rating, false);
    if (state.ratingSent) ui.ratingTitle.textContent = "Thanks for your feedback";
    else if (rating) ui.ratingTitle.textContent = `You rated this chat ${starsLabel(rating)}. You can change it.`;
    else ui.ratingTitle.textContent = "How did we do?";
  }

  function starsLabel(rating) {
    return rating === 1 ? "1 star" : rating + " stars";
  }

  function selectRating(rating, byUser) {
    state.rating = rating;
    if (byUser) state.ratingTouched = true;
    ui.stars.forEach((star, index) => {
      star.setAttribute("aria-pressed", String(index + 1 === rating));
      star.classList.toggle("hd-star--on", index < rating);
    });
    ui.ratingSubmit.disabled = !rating;
  }

  function onRatingSubmit(event) {
    event.preventDefault();
    if (!state.rating) return;
    const comment = ui.ratingComment.value.trim();
    if (!sendFrame({ type: "csat.submit", rating: state.rating, comment })) return showNotice(OFFLINE_TEXT, "error");
    state.ratingSent = true;
    state.ratingTouched = false;
    ui.ratingTitle.textContent = "Thanks for your feedback";
    announce("Thanks for your feedback");
  }

  // ---- Styles (inside the shadow root, so neither page leaks into the other) ---------------------------

  const CSS = `
/* !important: a host page rule such as "div { display: none !important }" must not reach us. */
:host { all: initial !important; }
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
.hd-launcher, .hd-panel { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2733; }
button, input, textarea { font: inherit; color: inherit; }
:focus-visible { outline: 3px solid #1d2733; outline-offset: 2px; box-shadow: 0 0 0 2px #fff; }
.hd-launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; width: 56px; height: 56px;
  display: grid; place-items: center; border: 0; border-radius: 50%; background: var(--hd-brand, #0b5cad);
  color: #fff; cursor: pointer; box-shadow: 0 4px 14px rgba(0, 0, 0, .25); }
.hd-launcher svg { width: 26px; height: 26px; }
.hd-badge { position: absolute; top: -2px; right: -2px; min-width: 20px; height: 20px; padding: 0 5px;
  border-radius: 10px; background: #c62828; color: #fff; font-size: 12px; line-height: 20px; text-align: center; }
.hd-panel { position: fixed; right: 20px; bottom: 88px; z-index: 2147483001; width: 360px; height: 560px;
  max-height: calc(100vh - 108px); display: flex; flex-direction: column; overflow: hidden; background: #fff;
  border-radius: 12px; box-shadow: 0 10px 40px rgba(0, 0, 0, .25); }
@media (max-width: 479.98px) {
  .hd-panel { top: 0; right: 0; bottom: 0; left: 0; width: 100%; height: 100%; max-height: none; border-radius: 0; }
}
.hd-header { display: flex; align-items: flex-start; justify-content: space-between; gap: 8px; padding: 12px 14px;
  background: var(--hd-brand, #0b5cad); color: #fff; }
.hd-title { margin: 0; font-size: 16px; font-weight: 600; }
.hd-subtitle { margin: 2px 0 0; font-size: 13px; }
.hd-close { width: 32px; height: 32px; border: 0; border-radius: 6px; background: transparent; color: #fff;
  font-size: 22px; line-height: 1; cursor: pointer; }
.hd-banner { margin: 0; padding: 6px 14px; background: #fff4ce; color: #5c4400; font-size: 13px; }
.hd-prechat { display: flex; flex-direction: column; gap: 12px; padding: 16px; overflow: auto; }
.hd-prechat p { margin: 0; }
.hd-field { display: flex; flex-direction: column; gap: 4px; }
.hd-field label { font-size: 13px; font-weight: 600; }
.hd-field input, .hd-field textarea, .hd-input { width: 100%; padding: 8px 10px; border: 1px solid #6b7886;
  border-radius: 6px; background: #fff; }
.hd-primary, .hd-send { padding: 8px 16px; border: 0; border-radius: 6px; background: var(--hd-brand, #0b5cad);
  color: #fff; cursor: pointer; }
.hd-primary { align-self: flex-start; }
.hd-primary:disabled, .hd-send:disabled { opacity: .55; cursor: not-allowed; }
.hd-form-message { color: #b3261e; font-size: 13px; }
.hd-chat { flex: 1; min-height: 0; display: flex; flex-direction: column; }
.hd-log { flex: 1; min-height: 0; margin: 0; padding: 12px; overflow-y: auto; list-style: none; display: flex;
  flex-direction: column; gap: 8px; background: #f6f8fb; }
.hd-msg { align-self: flex-start; max-width: 85%; padding: 8px 10px; border: 1px solid #e3e8ef; border-radius: 10px;
  background: #fff; }
.hd-msg--customer { align-self: flex-end; border-color: transparent; background: var(--hd-brand, #0b5cad); color: #fff; }
.hd-msg--pending { opacity: .75; }
.hd-msg--failed { border-color: #f2b8b5; background: #fdecea; color: #7a1c14; }
.hd-author { display: block; font-size: 12px; font-weight: 600; }
.hd-text { margin: 2px 0 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.hd-status { display: block; margin-top: 2px; font-size: 11px; }
.hd-article { display: inline-block; margin-top: 4px; color: inherit; font-weight: 600; }
.hd-quick { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 6px; }
.hd-quick-reply, .hd-handoff { padding: 4px 10px; border: 1px solid var(--hd-brand, #0b5cad); border-radius: 14px;
  background: #fff; color: var(--hd-brand, #0b5cad); font-size: 13px; cursor: pointer; }
.hd-recs { padding: 6px 14px 0; border-top: 1px solid #e3e8ee; }
.hd-recs-title { margin: 0 0 4px; font-size: 12px; font-weight: 600; color: #4a5866; }
.hd-recs-list { margin: 0; padding: 0; list-style: none; display: grid; gap: 4px; }
.hd-rec { display: block; padding: 4px 8px; border-radius: 6px; background: #f3f6f9; color: inherit;
  text-decoration: none; }
.hd-rec:hover, .hd-rec:focus { background: #e6eef7; }
.hd-rec-title { display: block; font-size: 13px; font-weight: 600; color: var(--hd-brand, #0b5cad); }
.hd-rec-summary { display: block; font-size: 12px; color: #4a5866; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; }
.hd-notice { align-self: center; color: #4a5866; font-size: 13px; text-align: center; }
.hd-notice--error { color: #b3261e; }
.hd-typing { margin: 0; padding: 4px 14px; color: #4a5866; font-size: 13px; font-style: italic; }
.hd-offline, .hd-rating { display: flex; flex-direction: column; gap: 8px; padding: 10px 14px;
  border-top: 1px solid #e3e8ef; }
.hd-offline-form { display: flex; flex-direction: column; gap: 8px; }
.hd-offline p, .hd-rating p { margin: 0; }
.hd-stars { display: flex; gap: 4px; }
.hd-star { width: 36px; height: 36px; border: 1px solid #c5ced8; border-radius: 6px; background: #fff; color: #6b7886;
  font-size: 20px; cursor: pointer; }
.hd-star--on { border-color: #a35f00; color: #a35f00; }
.hd-link { align-self: flex-start; padding: 0; border: 0; background: none; color: var(--hd-brand, #0b5cad);
  text-decoration: underline; cursor: pointer; }
.hd-actions { padding: 6px 14px 0; }
.hd-composer { display: flex; flex-wrap: wrap; align-items: flex-end; gap: 8px; padding: 10px 14px 14px; }
.hd-input { flex: 1; max-height: 140px; resize: none; }
.hd-counter { flex-basis: 100%; color: #4a5866; font-size: 12px; }
.hd-counter[data-over="true"] { color: #b3261e; font-weight: 600; }
.hd-sr-only { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
`;

  // Last, because mount() needs CSS above to be initialised.
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
