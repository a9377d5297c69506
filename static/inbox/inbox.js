/*
 * The agents' live inbox. The server renders the page from the database; this script keeps it current over
 * /ws/inbox/ as the chat protocol describes (inbox.snapshot, conversation.updated, message.new,
 * message.annotated, typing, presence, message.ack, resume.done, intent.labels, error).
 *
 * Rules this file keeps:
 * - Message, customer and agent text only ever enters the page through textContent, never innerHTML.
 * - Each seq of the open conversation is rendered once; after every (re)connect, and on a gap, the script
 *   sends `resume` with the highest seq it holds without a hole, and the server replays the rest.
 * - Unread counts live in this browser: localStorage keeps the last seq seen per conversation.
 * - Markup built here mirrors conversations/_conversation_item.html and _message.html.
 * - The side panel lists what the recommender would show the customer (GET /api/customers/{id}/recommendations/);
 *   "Suggest to customer" sends one into the chat (`recommendation.send`), which the desk records as sent.
 * - The side panel suggests replies for the customer's last message; "Insert" puts one in the composer and
 *   the reply that is sent names it (`suggestion`) until the composer is emptied, so the desk can tell a
 *   suggestion used as is from one edited.
 */
(function () {
  "use strict";

  const configNode = document.getElementById("inbox-config");
  if (!configNode) return;
  const config = JSON.parse(configNode.textContent);

  const MAX_TEXT_LENGTH = 4000;
  const TYPING_EVERY_MS = 2000;
  const TYPING_SHOWN_MS = 4000;
  const RECONNECT_MAX_MS = 15000;
  const PREVIEW_LENGTH = 140;
  const NOTE_LABEL = "Note — not sent to the customer";
  const STATE_LABELS = config.state_labels || {};
  const ROLE_LABELS = config.role_labels || {};
  const DECISION_LABELS = config.decision_labels || {};
  const SOURCE_LABELS = { knowledge: "Knowledge base", past_reply: "Past reply" };
  const MAX_SUGGESTIONS = 3;

  const byId = (id) => document.getElementById(id);
  const dom = {
    connection: byId("inbox-connection"),
    alert: byId("inbox-alert"),
    announce: byId("inbox-list-announce"),
    agents: byId("inbox-agents"),
    presence: byId("inbox-presence"),
    presenceDot: byId("inbox-presence-dot"),
    lists: { waiting: byId("inbox-list-waiting"), mine: byId("inbox-list-mine"), others: byId("inbox-list-others") },
    main: byId("inbox-conversation"),
    transcript: byId("inbox-transcript"),
    transcriptEmpty: byId("inbox-transcript-empty"),
    typing: byId("inbox-typing"),
    form: byId("inbox-reply-form"),
    reply: byId("inbox-reply"),
    replyLabel: byId("inbox-reply-label"),
    note: byId("inbox-note-toggle"),
    canned: byId("inbox-canned"),
    send: byId("inbox-send"),
    assignMe: byId("inbox-assign-me"),
    teamSelect: byId("inbox-transfer-team"),
    teamButton: byId("inbox-transfer-team-btn"),
    agentSelect: byId("inbox-transfer-agent"),
    agentButton: byId("inbox-transfer-agent-btn"),
    resolve: byId("inbox-resolve"),
    stateBadge: byId("inbox-conversation-state"),
    suggestions: byId("inbox-suggestions-list"),
    suggestionsEmpty: byId("inbox-suggestions-empty"),
    recommendations: byId("inbox-recommendations-list"),
    recommendationsEmpty: byId("inbox-recommendations-empty"),
    intentLabels: byId("inbox-intent-labels"),
    team: byId("inbox-conversation-team"),
    assignee: byId("inbox-conversation-assignee"),
  };

  const state = {
    me: config.me,
    canWrite: Boolean(config.me && config.me.can_write),
    agents: new Map((config.agents || []).map((agent) => [agent.id, agent])),
    conversations: new Map((config.conversations || []).map((summary) => [summary.id, summary])),
    open: config.conversation, // the selected conversation's summary, or null
    items: new Map(), // conversation id -> its <li> in the list
    rendered: new Set(), // seqs of the open conversation already in the transcript
    contiguous: 0, // every seq from 1 to this one is rendered: the resume cursor
    pending: new Map(), // client_id -> {frame, element}: sent, not acknowledged yet
    suggestionsBySeq: new Map(), // seq of a customer message of the open conversation -> its suggestions
    suggestion: null, // id of the suggestion inserted in the composer, until sent or the composer is emptied
    intentLabelsAsked: false,
    socket: null,
    connected: false,
    attempts: 0,
    reconnectTimer: null,
    stopped: false,
    resumeInFlight: false,
    lastTypingSentAt: 0,
    typingTimer: null,
    alertTimer: null,
    breaches: new Map(), // conversation id -> the label of its ticket's SLA breach (sla.breach frames)
  };
  const baseTitle = document.title;
  const openId = () => (state.open ? state.open.id : null);

  // --- Small helpers -------------------------------------------------------------------------------------

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // Roles and states become class names; anything unexpected from the wire becomes "unknown".
  function token(value) {
    return /^[a-z_]{1,20}$/.test(String(value)) ? String(value) : "unknown";
  }

  function safeHttpUrl(value) {
    try {
      const url = new URL(String(value), window.location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (error) {
      return null;
    }
  }

  function conversationUrl(summary) {
    const url = summary.url;
    // Only a same-site path: never a scheme or a protocol-relative address from the wire.
    if (typeof url === "string" && url.startsWith("/") && !url.startsWith("//")) return url;
    return config.inbox_url + encodeURIComponent(summary.id) + "/";
  }

  function customerName(summary) {
    const customer = (summary && summary.customer) || {};
    return customer.name || customer.email || "Customer #" + customer.id;
  }

  function formatTime(iso) {
    const moment = new Date(iso);
    if (Number.isNaN(moment.getTime())) return "";
    return moment.toLocaleString([], { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  }

  function waitingText(iso) {
    const since = new Date(iso).getTime();
    if (Number.isNaN(since)) return "waiting";
    const minutes = Math.max(0, Math.floor((Date.now() - since) / 60000));
    if (minutes < 1) return "waiting <1 min";
    if (minutes < 60) return "waiting " + minutes + " min";
    return "waiting " + Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
  }

  function uuid4() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    // randomUUID exists only in secure contexts; an inbox on plain http inside the office still needs ids.
    const bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  function showAlert(text) {
    if (!dom.alert) return;
    dom.alert.textContent = text;
    dom.alert.hidden = false;
    clearTimeout(state.alertTimer);
    state.alertTimer = setTimeout(() => {
      dom.alert.hidden = true;
    }, 8000);
  }

  function showBanner(text, fatal) {
    if (!dom.connection) return;
    dom.connection.textContent = text;
    dom.connection.classList.toggle("is-fatal", Boolean(fatal));
    dom.connection.hidden = false;
  }

  function hideBanner() {
    if (dom.connection) dom.connection.hidden = true;
  }

  function announce(text) {
    if (dom.announce) dom.announce.textContent = text;
  }

  // --- Unread counts: the last seq seen per conversation, kept in this browser ---------------------------

  const SEEN_KEY = "helpdesk.inbox.seen." + (state.me ? state.me.id : "anonymous");
  let seen = loadSeen();

  function loadSeen() {
    try {
      const stored = JSON.parse(window.localStorage.getItem(SEEN_KEY) || "{}");
      return stored && typeof stored === "object" ? stored : {};
    } catch (error) {
      return {};
    }
  }

  function saveSeen() {
    try {
      window.localStorage.setItem(SEEN_KEY, JSON.stringify(seen));
    } catch (error) {
      // Storage full or disabled: the counts still work for this page.
    }
  }

  function markSeen(conversationId, seq) {
    if (conversationId === null || (seen[conversationId] || 0) >= seq) return;
    seen[conversationId] = seq;
    saveSeen();
  }

  function pruneSeen() {
    // Closed conversations leave the list; forget them so the store does not grow for ever.
    let changed = false;
    for (const key of Object.keys(seen)) {
      const id = Number(key);
      if (!state.conversations.has(id) && id !== openId()) {
        delete seen[key];
        changed = true;
      }
    }
    if (changed) saveSeen();
  }

  function isWatching(conversationId) {
    return conversationId === openId() && document.visibilityState === "visible";
  }

  function unreadCount(summary) {
    if (isWatching(summary.id)) return 0;
    return Math.max(0, (summary.last_seq || 0) - (seen[summary.id] || 0));
  }

  function renderBadge(item, summary) {
    const badge = item.querySelector(".inbox-item__badge");
    if (!badge) return;
    const unread = unreadCount(summary);
    badge.dataset.unread = String(unread);
    badge.hidden = unread === 0;
    badge.textContent = unread > 99 ? "99+" : String(unread);
    badge.append(element("span", "visually-hidden", " unread"));
  }

  function renderBadges() {
    let total = 0;
    for (const [id, item] of state.items) {
      const summary = state.conversations.get(id);
      if (!summary) continue;
      renderBadge(item, summary);
      total += unreadCount(summary);
    }
    document.title = (total ? "(" + total + ") " : "") + baseTitle;
  }

  // --- The conversation list ----------------------------------------------------------------------------

  function sectionOf(summary) {
    if (summary.state === "waiting") return "waiting";
    if (summary.assignee && state.me && summary.assignee.id === state.me.id) return "mine";
    return "others";
  }

  function timeOf(iso, missing) {
    const value = iso ? new Date(iso).getTime() : NaN;
    return Number.isNaN(value) ? missing : value;
  }

  // At-risk conversations (the satisfaction model's prediction fell below the policy's threshold) come first.
  function compareWaiting(a, b) {
    return Number(Boolean(b.at_risk)) - Number(Boolean(a.at_risk))
      || timeOf(a.waiting_since, Infinity) - timeOf(b.waiting_since, Infinity) || a.id - b.id;
  }

  function compareRecent(a, b) {
    return timeOf(b.last_message_at, -Infinity) - timeOf(a.last_message_at, -Infinity) || b.id - a.id;
  }

  function buildItem(summary) {
    const item = element("li", "inbox-item");
    item.dataset.conversation = String(summary.id);
    const link = element("a", "inbox-item__link");
    const top = element("span", "inbox-item__top");
    top.append(element("span", "inbox-item__name"), element("span", "inbox-item__badge"));
    link.append(top, element("span", "inbox-item__preview"), element("span", "inbox-item__meta"));
    item.append(link);
    return item;
  }

  function fillItem(item, summary) {
    const isOpen = summary.id === openId();
    item.className = "inbox-item state-" + token(summary.state) + (isOpen ? " is-open" : "");
    item.dataset.state = token(summary.state);
    item.dataset.lastSeq = String(summary.last_seq || 0);
    const link = item.querySelector(".inbox-item__link");
    link.href = conversationUrl(summary);
    if (isOpen) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
    item.querySelector(".inbox-item__name").textContent = customerName(summary);
    item.querySelector(".inbox-item__preview").textContent = (summary.preview || "").slice(0, PREVIEW_LENGTH);
    const meta = item.querySelector(".inbox-item__meta");
    meta.replaceChildren();
    if (summary.state === "waiting" && summary.waiting_since) {
      const waiting = element("time", "inbox-item__waiting", waitingText(summary.waiting_since));
      waiting.dateTime = summary.waiting_since;
      meta.append(waiting, " ");
    }
    if (summary.team) meta.append(element("span", "inbox-item__team", summary.team.name), " ");
    if (summary.assignee) meta.append(element("span", "inbox-item__assignee", summary.assignee.name), " ");
    meta.append(element("span", "inbox-item__state", STATE_LABELS[summary.state] || summary.state));
    if (typeof summary.predicted_satisfaction === "number") {
      meta.append(" ", element("span", "inbox-item__satisfaction", satisfactionText(summary)));
    }
    if (summary.at_risk) meta.append(" ", element("span", "inbox-item__risk", "At risk"));
    item.classList.toggle("is-at-risk", Boolean(summary.at_risk));
    const breach = state.breaches.get(summary.id);
    if (breach) meta.append(" ", element("span", "inbox-item__risk inbox-item__sla", breach));
    renderBadge(item, summary);
  }

  function satisfactionText(summary) {
    const trend = summary.satisfaction_trend;
    const arrow = typeof trend !== "number" || Math.abs(trend) < 0.25 ? "→" : trend > 0 ? "↑" : "↓";
    return "Predicted " + summary.predicted_satisfaction.toFixed(1) + "/5 " + arrow;
  }

  function renderList() {
    const sections = { waiting: [], mine: [], others: [] };
    for (const summary of state.conversations.values()) {
      if (summary.state !== "closed") sections[sectionOf(summary)].push(summary);
    }
    sections.waiting.sort(compareWaiting);
    sections.mine.sort(compareRecent);
    sections.others.sort(compareRecent);
    const keep = new Set();
    for (const [name, summaries] of Object.entries(sections)) {
      const list = dom.lists[name];
      if (!list) continue;
      summaries.forEach((summary, index) => {
        let item = state.items.get(summary.id);
        if (!item) {
          item = buildItem(summary);
          state.items.set(summary.id, item);
        }
        fillItem(item, summary);
        keep.add(summary.id);
        // Move a row only when it is out of place, so a focused link keeps its focus.
        if (list.children[index] !== item) list.insertBefore(item, list.children[index] || null);
      });
      const section = list.closest(".inbox-section");
      const count = section && section.querySelector(".inbox-section__count");
      if (count) count.textContent = String(summaries.length);
      const empty = section && section.querySelector(".inbox-section__empty");
      if (empty) empty.hidden = summaries.length > 0;
    }
    for (const [id, item] of state.items) {
      if (!keep.has(id)) {
        item.remove();
        state.items.delete(id);
      }
    }
    renderBadges();
  }

  function refreshWaitingTimes() {
    document.querySelectorAll("time.inbox-item__waiting").forEach((node) => {
      node.textContent = waitingText(node.getAttribute("datetime"));
    });
  }

  // --- Agents and presence ------------------------------------------------------------------------------

  function renderAgents() {
    if (!dom.agents) return;
    const others = Array.from(state.agents.values())
      .filter((agent) => !state.me || agent.id !== state.me.id)
      .sort((a, b) => String(a.name).localeCompare(String(b.name)));
    dom.agents.replaceChildren(
      ...others.map((agent) => {
        const presence = token(agent.presence);
        const item = element("li", "presence presence--" + presence);
        item.dataset.agent = String(agent.id);
        item.dataset.presence = presence;
        const dot = element("span", "presence__dot");
        dot.setAttribute("aria-hidden", "true");
        item.append(dot, element("span", "presence__name", agent.name));
        item.append(element("span", "visually-hidden presence__label", "(" + agent.presence + ")"));
        return item;
      }),
    );
    if (dom.agentSelect) {
      for (const option of dom.agentSelect.options) {
        const agent = state.agents.get(Number(option.value));
        if (agent) option.textContent = agent.name + " (" + agent.presence + ")";
      }
    }
  }

  function renderMyPresence(presence) {
    if (dom.presence && presence) dom.presence.value = presence;
    if (dom.presenceDot) dom.presenceDot.className = "presence__dot presence--" + token(presence);
  }

  // --- The open conversation ----------------------------------------------------------------------------

  function authorName(message) {
    if (message.author_name) return message.author_name;
    if (message.role === "customer") return customerName(state.open);
    return ROLE_LABELS[message.role] || message.role;
  }

  function buildMessage(message) {
    const role = token(message.role);
    const item = element("li", "msg msg--" + role);
    if (typeof message.seq === "number") item.dataset.seq = String(message.seq);
    item.dataset.role = role;
    if (role === "note") item.append(element("p", "msg__note-label", NOTE_LABEL));
    const head = element("p", "msg__head");
    const time = element("time", "msg__time", formatTime(message.created_at));
    if (message.created_at) time.dateTime = message.created_at;
    head.append(element("span", "msg__author", authorName(message)), " ", time);
    item.append(head, element("p", "msg__text", message.text));
    if (typeof message.id === "number") item.dataset.message = String(message.id);
    if (message.intent) {
      const confidence = typeof message.intent_confidence === "number"
        ? " (" + Math.round(message.intent_confidence * 100) + "%)"
        : "";
      const text = "Intent: " + message.intent + confidence + topThreeText(message);
      item.append(element("p", "msg__meta msg__intent", text));
    }
    if (typeof message.sentiment === "number") {
      const escalate = message.escalate ? " — escalate" : "";
      item.append(element("p", "msg__meta", "Sentiment: " + message.sentiment.toFixed(2) + escalate));
    }
    if (message.decision) {
      const reason = message.decision_reason ? " — " + message.decision_reason : "";
      const label = DECISION_LABELS[message.decision] || message.decision;
      item.append(element("p", "msg__meta", "Bot decision: " + label + reason));
    }
    const correction = message.corrected_intent;
    if (correction && correction.intent) {
      const by = correction.by ? " (by " + correction.by + ")" : "";
      item.append(element("p", "msg__meta msg__corrected", "Corrected intent: " + correction.intent + by));
    }
    if (role === "customer" && state.canWrite && typeof message.id === "number") item.append(buildCorrectForm(message));
    if (Array.isArray(message.quick_replies) && message.quick_replies.length) {
      item.append(element("p", "msg__meta", "Quick replies: " + message.quick_replies.join(" · ")));
    }
    const articleUrl = message.article && safeHttpUrl(message.article.url);
    if (articleUrl) {
      const line = element("p", "msg__meta", "Article: ");
      const link = element("a", "msg__article", message.article.title || articleUrl);
      link.href = articleUrl;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      line.append(link);
      item.append(line);
    }
    return item;
  }

  function topThreeLabels(message) {
    if (!Array.isArray(message.intent_top3)) return [];
    return message.intent_top3.filter((pair) => Array.isArray(pair) && typeof pair[0] === "string");
  }

  function topThreeText(message) {
    const pairs = topThreeLabels(message);
    if (!pairs.length) return "";
    const percent = (value) => (typeof value === "number" ? " " + Math.round(value * 100) + "%" : "");
    return " · top 3: " + pairs.map((pair) => pair[0] + percent(pair[1])).join(", ");
  }

  // The "Correct intent" control of a customer's message: the model's top 3, or any label typed (a datalist
  // offers the known ones). Mirrors the form in _message.html; submitted through the transcript's listener.
  function buildCorrectForm(message) {
    const form = element("form", "msg__correct");
    form.dataset.message = String(message.id);
    form.setAttribute("aria-label", "Correct the intent of this message");
    const other = element("input");
    other.name = "other";
    other.setAttribute("list", "inbox-intent-labels");
    other.maxLength = 100;
    const pairs = topThreeLabels(message);
    if (pairs.length) {
      const label = element("label", null, "Correct intent ");
      const select = element("select");
      select.name = "intent";
      for (const pair of pairs) {
        const option = element("option", null, pair[0]);
        option.value = pair[0];
        select.append(option);
      }
      label.append(select);
      other.placeholder = "or another intent";
      other.setAttribute("aria-label", "Another intent");
      form.append(label, " ", other);
    } else {
      other.placeholder = "Set the intent";
      other.setAttribute("aria-label", "Intent");
      form.append(other);
    }
    const button = element("button", "btn btn--small", "Correct");
    button.type = "submit";
    form.append(" ", button);
    return form;
  }

  function isNearBottom() {
    const list = dom.transcript;
    return list.scrollHeight - list.scrollTop - list.clientHeight < 60;
  }

  function scrollToBottom() {
    dom.transcript.scrollTop = dom.transcript.scrollHeight;
  }

  // Messages go in seq order; unacknowledged ones of mine (no data-seq yet) stay at the end.
  function insertBySeq(item, seq) {
    let before = null;
    const children = dom.transcript.children;
    for (let index = children.length - 1; index >= 0; index -= 1) {
      const child = children[index];
      if (child.dataset.seq && Number(child.dataset.seq) < seq) break;
      before = child;
    }
    dom.transcript.insertBefore(item, before);
    if (dom.transcriptEmpty) dom.transcriptEmpty.hidden = true;
  }

  function markRendered(seq) {
    state.rendered.add(seq);
    while (state.rendered.has(state.contiguous + 1)) state.contiguous += 1;
    if (state.open && seq > (state.open.last_seq || 0)) state.open.last_seq = seq;
    if (isWatching(openId())) markSeen(openId(), state.contiguous);
  }

  function renderMessage(message) {
    if (!dom.transcript || state.rendered.has(message.seq)) return;
    const stick = isNearBottom();
    insertBySeq(buildMessage(message), message.seq);
    markRendered(message.seq);
    if (stick) scrollToBottom();
  }

  function renderHeader() {
    const summary = state.open;
    if (!summary) return;
    if (dom.main) dom.main.dataset.state = token(summary.state);
    if (dom.stateBadge) {
      dom.stateBadge.className = "state-badge state-" + token(summary.state);
      dom.stateBadge.textContent = STATE_LABELS[summary.state] || summary.state;
    }
    if (dom.team) dom.team.textContent = summary.team ? "Team " + summary.team.name : "No team";
    if (dom.assignee) dom.assignee.textContent = summary.assignee ? "Assigned to " + summary.assignee.name : "Unassigned";
    if (dom.teamSelect && summary.team) dom.teamSelect.value = String(summary.team.id);
    if (dom.agentSelect && summary.assignee) dom.agentSelect.value = String(summary.assignee.id);
    renderControls();
  }

  function renderControls() {
    const summary = state.open;
    const closed = Boolean(summary && summary.state === "closed");
    const live = state.connected && state.canWrite && Boolean(summary) && !closed;
    const mine = Boolean(summary && summary.assignee && state.me && summary.assignee.id === state.me.id);
    const set = (node, enabled) => {
      if (node) node.disabled = !enabled;
    };
    set(dom.reply, state.canWrite && Boolean(summary) && !closed);
    set(dom.note, state.canWrite && !closed);
    set(dom.canned, state.canWrite && !closed);
    set(dom.send, live);
    set(dom.assignMe, live && !mine);
    set(dom.teamSelect, live);
    set(dom.teamButton, live);
    set(dom.agentSelect, live);
    set(dom.agentButton, live);
    set(dom.resolve, live);
    set(dom.presence, state.connected && state.canWrite);
    const insertable = Boolean(dom.reply) && !dom.reply.disabled;
    document.querySelectorAll(".suggestion__insert").forEach((button) => set(button, insertable));
  }

  function showTyping(frame) {
    if (!dom.typing || frame.conversation !== openId()) return;
    const who = frame.role === "customer" ? customerName(state.open) : frame.name || "Another agent";
    dom.typing.textContent = who + " is typing…";
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(hideTyping, TYPING_SHOWN_MS);
  }

  function hideTyping() {
    clearTimeout(state.typingTimer);
    if (dom.typing) dom.typing.textContent = "";
  }

  // --- Suggested replies and intent corrections ----------------------------------------------------------

  function suggestionList(value) {
    if (!Array.isArray(value)) return [];
    return value.filter((s) => s && typeof s.id === "string" && typeof s.text === "string" && s.text.trim());
  }

  // What a message frame says about a customer's message: its suggestions, kept for the side panel.
  function rememberSuggestions(conversationId, message) {
    if (conversationId !== openId() || message.role !== "customer" || typeof message.seq !== "number") return;
    state.suggestionsBySeq.set(message.seq, suggestionList(message.suggestions));
  }

  function lastCustomerSeq() {
    if (!dom.transcript) return null;
    const items = dom.transcript.querySelectorAll('li[data-role="customer"][data-seq]');
    return items.length ? Number(items[items.length - 1].dataset.seq) : null;
  }

  function buildSuggestion(suggestion) {
    const card = element("li", "suggestion suggestion--" + token(suggestion.source));
    card.dataset.suggestion = suggestion.id;
    if (suggestion.id === state.suggestion) card.classList.add("is-inserted");
    const source = element("p", "suggestion__source", SOURCE_LABELS[suggestion.source] || "Suggestion");
    const url = suggestion.url ? safeHttpUrl(suggestion.url) : null;
    if (url) {
      const link = element("a", "suggestion__title", suggestion.title || url);
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      source.append(" · ", link);
    } else if (suggestion.title) {
      source.append(" · ", element("span", "suggestion__title", suggestion.title));
    }
    card.append(source, element("p", "suggestion__text", suggestion.text));
    if (state.canWrite) {
      const insert = element("button", "btn btn--small suggestion__insert", "Insert");
      insert.type = "button";
      insert.addEventListener("click", () => insertSuggestion(suggestion));
      card.append(insert);
    }
    return card;
  }

  function renderSuggestions() {
    if (!dom.suggestions) return;
    const seq = lastCustomerSeq();
    const suggestions = (seq !== null && state.suggestionsBySeq.get(seq)) || [];
    const shown = suggestions.slice(0, MAX_SUGGESTIONS);
    dom.suggestions.replaceChildren(...shown.map(buildSuggestion));
    dom.suggestions.dataset.seq = seq === null ? "" : String(seq);
    if (dom.suggestionsEmpty) dom.suggestionsEmpty.hidden = shown.length > 0;
    renderControls();
  }

  function insertSuggestion(suggestion) {
    if (!dom.reply || dom.reply.disabled) return;
    if (dom.note && dom.note.checked) {
      dom.note.checked = false; // a suggestion is a reply to the customer
      renderNoteMode();
    }
    insertIntoReply(suggestion.text, dom.reply.selectionStart, dom.reply.selectionEnd);
    state.suggestion = suggestion.id;
    markInserted();
  }

  function forgetSuggestion() {
    if (state.suggestion === null) return;
    state.suggestion = null;
    markInserted();
  }

  // A class, not a redraw: the list is a live region and would be read out again.
  function markInserted() {
    if (!dom.suggestions) return;
    dom.suggestions.querySelectorAll("li[data-suggestion]").forEach((card) => {
      card.classList.toggle("is-inserted", card.dataset.suggestion === state.suggestion);
    });
  }

  function correctIntent(form) {
    const other = form.querySelector('input[name="other"]');
    const select = form.querySelector('select[name="intent"]');
    const intent = ((other && other.value.trim()) || (select && select.value) || "").trim();
    if (!intent) {
      showAlert("Pick or type the right intent first.");
      return;
    }
    if (!send({ type: "intent.correct", message: Number(form.dataset.message), intent: intent })) {
      showAlert("Not connected yet; try again once the banner is gone.");
      return;
    }
    if (other) other.value = "";
  }

  // The known labels are asked for once per connection, the first time an agent goes to type one.
  function askIntentLabels() {
    if (state.intentLabelsAsked || !dom.intentLabels) return;
    state.intentLabelsAsked = send({ type: "intent.labels" });
  }

  function onIntentLabels(frame) {
    if (!dom.intentLabels || !Array.isArray(frame.labels)) return;
    dom.intentLabels.replaceChildren(
      ...frame.labels.map((label) => {
        const option = element("option");
        option.value = String(label);
        return option;
      }),
    );
  }

  function bindTranscript() {
    if (!dom.transcript) return;
    dom.transcript.addEventListener("submit", (event) => {
      const form = event.target.closest("form.msg__correct");
      if (!form) return;
      event.preventDefault();
      correctIntent(form);
    });
    dom.transcript.addEventListener("focusin", (event) => {
      if (event.target.closest("form.msg__correct input")) askIntentLabels();
    });
  }

  // --- Frames from the server ---------------------------------------------------------------------------

  function onSnapshot(frame) {
    if (frame.me) {
      state.me = frame.me;
      // The page was rendered for one set of roles; if the server now says read-only, obey it.
      state.canWrite = state.canWrite && Boolean(frame.me.can_write);
      renderMyPresence(frame.me.presence);
    }
    if (Array.isArray(frame.agents)) {
      state.agents = new Map(frame.agents.map((agent) => [agent.id, agent]));
      renderAgents();
    }
    if (Array.isArray(frame.conversations)) {
      state.conversations = new Map(frame.conversations.map((summary) => [summary.id, summary]));
      const open = state.conversations.get(openId());
      if (open) {
        state.open = open;
        renderHeader();
      }
      renderList();
      pruneSeen();
    }
    renderControls();
  }

  function onConversationUpdated(frame) {
    const summary = frame.conversation;
    if (!summary || typeof summary.id !== "number") return;
    const before = state.conversations.get(summary.id);
    if (summary.state === "closed") state.conversations.delete(summary.id);
    else state.conversations.set(summary.id, summary);
    if (summary.state === "waiting" && (!before || before.state !== "waiting")) {
      announce(customerName(summary) + " is waiting for an agent.");
    }
    if (summary.id === openId()) {
      state.open = summary;
      renderHeader();
    }
    renderList();
  }

  function onMessageNew(frame) {
    const message = frame.message;
    if (!message || typeof message.seq !== "number") return;
    const summary = state.conversations.get(frame.conversation);
    if (summary && message.seq > (summary.last_seq || 0)) {
      summary.last_seq = message.seq;
      summary.last_message_at = message.created_at;
      // Like the server's preview: the last message the customer can see, never a note.
      if (message.role !== "note") summary.preview = String(message.text || "").slice(0, PREVIEW_LENGTH);
      renderList();
    }
    if (frame.conversation !== openId()) return;
    if (message.role === "customer") hideTyping();
    const gap = message.seq > state.contiguous + 1;
    rememberSuggestions(frame.conversation, message);
    renderMessage(message);
    if (message.role === "customer") renderSuggestions();
    if (gap && !state.resumeInFlight) sendResume();
    renderBadges();
  }

  // The models' annotations and the bot's decision arrive after the message itself: redraw it in place.
  function onMessageAnnotated(frame) {
    const message = frame.message;
    if (!message || typeof message.seq !== "number" || frame.conversation !== openId() || !dom.transcript) return;
    rememberSuggestions(frame.conversation, message);
    const current = dom.transcript.querySelector('li[data-seq="' + message.seq + '"]');
    if (current) current.replaceWith(buildMessage(message));
    if (message.role === "customer") renderSuggestions();
  }

  function onAck(frame) {
    const pending = state.pending.get(frame.client_id);
    if (!pending) return;
    state.pending.delete(frame.client_id);
    const item = pending.element;
    // message.new for this seq may have come first: then the message is already on screen.
    if (frame.conversation !== openId() || state.rendered.has(frame.seq)) {
      item.remove();
      return;
    }
    item.classList.remove("is-pending");
    item.dataset.seq = String(frame.seq);
    const status = item.querySelector(".msg__status");
    if (status) status.remove();
    item.remove();
    insertBySeq(item, frame.seq);
    markRendered(frame.seq);
  }

  function onResumeDone(frame) {
    if (frame.conversation !== openId()) return;
    state.resumeInFlight = false;
    // The replay is complete up to last_seq; a number still missing below it does not exist, so stop asking.
    if (typeof frame.last_seq === "number" && frame.last_seq > state.contiguous) {
      for (let seq = state.contiguous + 1; seq <= frame.last_seq; seq += 1) state.rendered.add(seq);
      markRendered(frame.last_seq);
    }
    renderBadges();
  }

  function onError(frame) {
    const detail = frame.detail || frame.code || "The server refused that.";
    const pending = frame.client_id && state.pending.get(frame.client_id);
    if (pending) {
      state.pending.delete(frame.client_id);
      pending.element.classList.remove("is-pending");
      pending.element.classList.add("is-failed");
      const status = pending.element.querySelector(".msg__status");
      if (status) status.textContent = "Not sent: " + detail;
    }
    showAlert(detail);
  }

  const BREACH_LABELS = { first_response: "SLA: first response overdue", resolution: "SLA: resolution overdue" };

  function onSlaBreach(frame) {
    const breach = frame.breach;
    if (!breach || typeof breach.ticket !== "number") return;
    const label = BREACH_LABELS[breach.kind] || "SLA overdue";
    announce("Ticket #" + breach.ticket + " " + String(breach.subject || "") + ": " + label);
    if (typeof breach.conversation !== "number") return;
    state.breaches.set(breach.conversation, label);
    renderList();
  }

  const handlers = {
    "inbox.snapshot": onSnapshot,
    "conversation.updated": onConversationUpdated,
    "message.new": onMessageNew,
    "message.annotated": onMessageAnnotated,
    "message.ack": onAck,
    "resume.done": onResumeDone,
    "intent.labels": onIntentLabels,
    "sla.breach": onSlaBreach,
    typing: showTyping,
    presence: (frame) => {
      const agent = frame.agent;
      if (!agent || typeof agent.id !== "number") return;
      state.agents.set(agent.id, agent);
      if (state.me && agent.id === state.me.id) renderMyPresence(agent.presence);
      renderAgents();
    },
    error: onError,
  };

  // --- The socket ---------------------------------------------------------------------------------------

  function socketUrl() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return scheme + "//" + window.location.host + config.socket_path;
  }

  function send(frame) {
    if (!state.socket || state.socket.readyState !== WebSocket.OPEN) return false;
    state.socket.send(JSON.stringify(frame));
    return true;
  }

  function sendResume() {
    if (openId() === null || !state.connected) return;
    state.resumeInFlight = send({ type: "resume", conversation: openId(), after_seq: state.contiguous });
  }

  function connect() {
    clearTimeout(state.reconnectTimer);
    if (state.stopped) return;
    const previous = state.socket;
    state.socket = null;
    if (previous) previous.close(); // its handlers ignore a socket that is no longer state.socket
    let socket;
    try {
      socket = new WebSocket(socketUrl());
    } catch (error) {
      scheduleReconnect();
      return;
    }
    state.socket = socket;
    socket.addEventListener("open", () => {
      if (socket !== state.socket) return;
      state.connected = true;
      state.attempts = 0;
      state.intentLabelsAsked = false;
      hideBanner();
      sendResume();
      // Unacknowledged sends go again with the same client_id; the server stores each client_id once.
      for (const pending of state.pending.values()) send(pending.frame);
      renderControls();
    });
    socket.addEventListener("message", (event) => {
      if (socket !== state.socket) return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      const handler = frame && handlers[frame.type];
      if (handler) handler(frame);
    });
    socket.addEventListener("close", (event) => {
      if (socket !== state.socket) return;
      state.socket = null;
      state.connected = false;
      state.resumeInFlight = false;
      renderControls();
      if (event.code === 4403 || event.code === 4401) {
        state.stopped = true;
        showBanner("You are signed out or not allowed here. Reload the page to sign in again.", true);
        return;
      }
      showBanner("Reconnecting…");
      scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    if (state.stopped) return;
    const ceiling = Math.min(RECONNECT_MAX_MS, 500 * 2 ** state.attempts);
    state.attempts += 1;
    state.reconnectTimer = setTimeout(connect, ceiling / 2 + Math.random() * (ceiling / 2));
  }

  // --- The reply box and the actions --------------------------------------------------------------------

  function cannedText(shortcut) {
    const reply = (config.canned_replies || []).find((candidate) => candidate.shortcut === shortcut);
    return reply ? reply.text : null;
  }

  function insertIntoReply(text, start, end) {
    dom.reply.setRangeText(text, start, end, "end");
    dom.reply.focus();
  }

  // "/shortcut" just before the caret becomes that canned reply's text; true when it did.
  function expandShortcut() {
    const caret = dom.reply.selectionStart;
    if (caret !== dom.reply.selectionEnd) return false;
    const match = /(^|\s)\/([A-Za-z0-9_-]+)$/.exec(dom.reply.value.slice(0, caret));
    const text = match && cannedText(match[2]);
    if (!text) return false;
    insertIntoReply(text, caret - match[2].length - 1, caret);
    return true;
  }

  function sendReply() {
    const text = dom.reply.value.trim();
    if (!text || openId() === null) return;
    if (!state.connected) {
      showAlert("Not connected yet; your text is kept. Try again once the banner is gone.");
      return;
    }
    if (text.length > MAX_TEXT_LENGTH) {
      showAlert("A message may hold at most 4,000 characters; this one has " + text.length + ".");
      return;
    }
    const note = Boolean(dom.note && dom.note.checked);
    const frame = { type: "message.send", conversation: openId(), client_id: uuid4(), text: text, note: note };
    if (state.suggestion !== null && !note) frame.suggestion = state.suggestion;
    const item = buildMessage({
      role: note ? "note" : "agent",
      text: text,
      created_at: new Date().toISOString(),
      author_name: state.me ? state.me.name : "",
    });
    item.classList.add("is-pending");
    item.dataset.clientId = frame.client_id;
    item.append(element("p", "msg__status", "Sending…"));
    dom.transcript.append(item);
    if (dom.transcriptEmpty) dom.transcriptEmpty.hidden = true;
    scrollToBottom();
    state.pending.set(frame.client_id, { frame: frame, element: item });
    send(frame);
    dom.reply.value = "";
    dom.reply.focus();
    forgetSuggestion();
  }

  function sendTyping() {
    // A private note is no news for the customer.
    if (!state.connected || (dom.note && dom.note.checked)) return;
    const now = Date.now();
    if (now - state.lastTypingSentAt < TYPING_EVERY_MS) return;
    state.lastTypingSentAt = now;
    send({ type: "typing", conversation: openId() });
  }

  function renderNoteMode() {
    const note = dom.note.checked;
    dom.form.classList.toggle("is-note", note);
    if (dom.send) dom.send.textContent = note ? "Add note" : "Send";
    if (dom.replyLabel) dom.replyLabel.textContent = note ? NOTE_LABEL : "Reply to " + customerName(state.open);
  }

  function bindComposer() {
    if (!dom.form || !dom.reply) return;
    dom.form.addEventListener("submit", (event) => {
      event.preventDefault();
      sendReply();
    });
    dom.reply.addEventListener("keydown", (event) => {
      if (event.isComposing) return;
      const plainEnter = event.key === "Enter" && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey;
      if (plainEnter) {
        event.preventDefault();
        if (!expandShortcut()) sendReply();
      } else if (event.key === "Tab" && !event.shiftKey && expandShortcut()) {
        event.preventDefault(); // Tab moves focus as usual unless it just expanded a shortcut.
      }
    });
    dom.reply.addEventListener("input", sendTyping);
    dom.reply.addEventListener("input", () => {
      if (!dom.reply.value.trim()) forgetSuggestion();
    });
    if (dom.note) dom.note.addEventListener("change", renderNoteMode);
    if (dom.canned) {
      dom.canned.addEventListener("change", () => {
        const text = cannedText(dom.canned.value);
        dom.canned.value = "";
        if (text) insertIntoReply(text, dom.reply.selectionStart, dom.reply.selectionEnd);
      });
    }
  }

  function bindActions() {
    const on = (node, handler) => {
      if (node) node.addEventListener("click", handler);
    };
    on(dom.assignMe, () => send({ type: "conversation.assign", conversation: openId() }));
    on(dom.teamButton, () => {
      send({ type: "conversation.transfer", conversation: openId(), team: Number(dom.teamSelect.value) });
    });
    on(dom.agentButton, () => {
      send({ type: "conversation.assign", conversation: openId(), agent: Number(dom.agentSelect.value) });
    });
    on(dom.resolve, () => send({ type: "conversation.resolve", conversation: openId() }));
    if (dom.presence) {
      dom.presence.addEventListener("change", () => {
        send({ type: "presence.set", presence: dom.presence.value });
        renderMyPresence(dom.presence.value);
      });
    }
  }

  // --- Start ----------------------------------------------------------------------------------------------

  function adoptServerRendering() {
    for (const list of Object.values(dom.lists)) {
      if (!list) continue;
      list.querySelectorAll("li[data-conversation]").forEach((item) => {
        state.items.set(Number(item.dataset.conversation), item);
      });
    }
    if (dom.transcript) {
      dom.transcript.querySelectorAll("li[data-seq]").forEach((item) => markRendered(Number(item.dataset.seq)));
      dom.transcript.querySelectorAll('li[data-role="customer"][data-seq]').forEach((item) => {
        const embedded = item.querySelector('script[type="application/json"]');
        if (!embedded) return;
        try {
          state.suggestionsBySeq.set(Number(item.dataset.seq), suggestionList(JSON.parse(embedded.textContent)));
        } catch (error) {
          // Unreadable: the panel shows none for that message.
        }
      });
      // The server wrote times in its own zone; show every time in the agent's.
      dom.transcript.querySelectorAll("time.msg__time").forEach((node) => {
        const text = formatTime(node.getAttribute("datetime"));
        if (text) node.textContent = text;
      });
      scrollToBottom();
    }
  }

  // ---- Recommendations for the open conversation's customer ---------------------------------------------------

  async function loadRecommendations() {
    if (!dom.recommendations) return;
    const customer = dom.recommendations.closest("[data-customer]").dataset.customer;
    let items = [];
    try {
      const response = await fetch("/api/customers/" + encodeURIComponent(customer) + "/recommendations/?k=5", {
        credentials: "same-origin", headers: { Accept: "application/json" },
      });
      if (response.ok) items = (await response.json()).recommendations || [];
    } catch (error) {
      // Offline for a moment: the panel stays empty until the next conversation is opened.
    }
    dom.recommendations.replaceChildren(...items.map(buildRecommendation));
    if (dom.recommendationsEmpty) dom.recommendationsEmpty.hidden = items.length > 0;
  }

  function buildRecommendation(item) {
    const card = document.createElement("li");
    card.className = "suggestion";
    card.dataset.item = String(item.item);
    const title = document.createElement(item.url ? "a" : "span");
    title.className = "suggestion__title";
    title.textContent = String(item.title || "");
    if (item.url && /^(https?:\/\/|\/)/.test(item.url)) {
      title.href = item.url;
      title.target = "_blank";
      title.rel = "noopener noreferrer";
    }
    const summary = document.createElement("p");
    summary.className = "suggestion__text";
    summary.textContent = String(item.summary || "");
    card.append(title, summary);
    if (state.canWrite) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "suggestion__insert";
      button.textContent = "Suggest to customer";
      button.addEventListener("click", () => {
        const sent = send({ type: "recommendation.send", conversation: openId(), item: String(item.item),
          client_id: uuid4() });
        if (!sent) showAlert("Not connected yet; try again once the banner is gone.");
        else button.disabled = true;
      });
      card.append(button);
    }
    return card;
  }

  adoptServerRendering();
  loadRecommendations();
  renderList();
  refreshWaitingTimes();
  renderControls();
  renderSuggestions();
  bindComposer();
  bindActions();
  bindTranscript();
  setInterval(refreshWaitingTimes, 30000);
  document.addEventListener("visibilitychange", () => {
    if (isWatching(openId())) markSeen(openId(), state.contiguous);
    renderBadges();
  });
  window.addEventListener("storage", (event) => {
    if (event.key !== SEEN_KEY) return;
    seen = loadSeen(); // another tab of this agent read something
    renderBadges();
  });
  window.addEventListener("online", () => {
    if (!state.connected && !state.stopped) connect();
  });
  showBanner("Connecting…");
  connect();
})();
