// The chorus chat page: plain JavaScript, no build step, no network beyond this server.
// Every piece of text from the server or a document is set with textContent, never parsed as HTML.
"use strict";

(() => {
  const HEARTBEAT_MS = 30_000;
  const RECONNECT_MIN_MS = 500;
  const RECONNECT_MAX_MS = 15_000;
  const $ = (id) => document.getElementById(id);

  const ui = {
    workspace: $("workspace"),
    newWorkspace: $("new-workspace"),
    workspaceForm: $("workspace-form"),
    workspaceName: $("workspace-name"),
    cancelWorkspace: $("cancel-workspace"),
    connection: $("connection"),
    banners: $("banners"),
    documents: $("documents"),
    documentCount: $("document-count"),
    upload: $("upload"),
    uploadStatus: $("upload-status"),
    model: $("model"),
    newChat: $("new-chat"),
    log: $("log"),
    composer: $("composer"),
    question: $("question"),
    send: $("send"),
  };

  const state = {
    config: null,
    workspaceId: null,
    sessionId: null,
    socket: null,
    reconnectDelay: RECONNECT_MIN_MS,
    reconnectTimer: null,
    heartbeatTimer: null,
    pending: null, // the turn waiting for its first event
    turns: new Map(), // messageId -> turn
  };

  // -- small DOM helpers ------------------------------------------------------------------

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) {
        node.append(child instanceof Node ? child : document.createTextNode(String(child)));
      }
    }
    return node;
  }

  function scrollToEnd() {
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  // -- banners ------------------------------------------------------------------------------

  function showError(code, message) {
    const banner = el(
      "div",
      { class: "banner", role: "alert" },
      el("code", { text: code || "error" }),
      el("span", { class: "message", text: message || "Something went wrong." }),
      el("button", { type: "button", "aria-label": "Dismiss", text: "×", onclick: () => banner.remove() }),
    );
    ui.banners.append(banner);
    while (ui.banners.children.length > 4) ui.banners.firstElementChild.remove();
  }

  function clearBanners() {
    ui.banners.replaceChildren();
  }

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") clearBanners();
  });

  // -- REST ---------------------------------------------------------------------------------

  async function api(path, options = {}) {
    const response = await fetch(state.config.apiUrl + path, options);
    let body = null;
    if (response.status !== 204) {
      try {
        body = await response.json();
      } catch {
        body = null;
      }
    }
    if (!response.ok) {
      const error = (body && body.error) || {};
      const failure = new Error(error.message || `${response.status} ${response.statusText}`);
      failure.code = error.code || `http_${response.status}`;
      throw failure;
    }
    return body;
  }

  function reportFailure(error) {
    showError(error.code || "network_error", error.message);
  }

  // -- workspaces ---------------------------------------------------------------------------

  async function loadWorkspaces(selectId) {
    const { workspaces } = await api("/workspaces");
    ui.workspace.replaceChildren();
    if (workspaces.length === 0) {
      ui.workspace.append(el("option", { value: "", text: "no workspace yet: create one" }));
      ui.workspace.disabled = true;
      selectWorkspace(null);
      return;
    }
    for (const w of workspaces) ui.workspace.append(el("option", { value: w.id, text: w.name }));
    ui.workspace.disabled = false;
    const wanted = [selectId, localStorage.getItem("chorus.workspace"), state.config.defaultWorkspace];
    const match = wanted
      .map((key) => workspaces.find((w) => key && (w.id === key || w.name === key)))
      .find(Boolean);
    selectWorkspace((match || workspaces[0]).id);
  }

  function selectWorkspace(id) {
    state.workspaceId = id;
    if (id) {
      ui.workspace.value = id;
      localStorage.setItem("chorus.workspace", id);
    }
    ui.upload.disabled = !id;
    resumeSession();
    loadDocuments().catch(reportFailure);
    updateSendButton();
  }

  async function createWorkspace(name) {
    const created = await api("/workspaces", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name }),
    });
    await loadWorkspaces(created.id);
  }

  // -- documents ----------------------------------------------------------------------------

  async function loadDocuments() {
    ui.documents.replaceChildren();
    ui.documentCount.textContent = "";
    if (!state.workspaceId) return;
    const { documents } = await api(`/workspaces/${encodeURIComponent(state.workspaceId)}/documents`);
    ui.documentCount.textContent = `(${documents.length})`;
    if (documents.length === 0) {
      ui.documents.append(el("li", { class: "muted", text: "No documents yet: upload some." }));
    }
    for (const d of documents) {
      const progress = d.status === "processing" && d.progress
        ? `${d.progress.embedded} / ${d.progress.total} chunks embedded`
        : null;
      const details = [d.status === "indexed" ? `${d.chunks} chunks` : null, progress, d.error].filter(Boolean);
      ui.documents.append(
        el(
          "li",
          { title: details.join(" · ") },
          el("span", { class: "name", text: d.name }),
          el("span", { class: `status ${d.status}`, text: d.status }),
          el("button", {
            type: "button",
            text: "Remove",
            "aria-label": `Remove ${d.name}`,
            onclick: () => removeDocument(d),
          }),
        ),
      );
    }
  }

  async function removeDocument(doc) {
    if (!window.confirm(`Remove “${doc.name}” and its chunks from this workspace?`)) return;
    try {
      await api(
        `/workspaces/${encodeURIComponent(state.workspaceId)}/documents/${encodeURIComponent(doc.id)}`,
        { method: "DELETE" },
      );
    } catch (error) {
      reportFailure(error);
    }
    await loadDocuments().catch(reportFailure);
  }

  async function uploadFiles(files) {
    const workspace = state.workspaceId;
    let done = 0;
    for (const file of files) {
      ui.uploadStatus.textContent = `Uploading ${file.name} (${done + 1}/${files.length})…`;
      const form = new FormData();
      form.append("file", file, file.name);
      try {
        const result = await api(`/workspaces/${encodeURIComponent(workspace)}/documents`, {
          method: "POST",
          body: form,
        });
        done += 1;
        ui.uploadStatus.textContent = `${result.name}: ${result.outcome}, ${result.chunks} chunks`;
      } catch (error) {
        showError(error.code, `${file.name}: ${error.message}`);
        ui.uploadStatus.textContent = "";
      }
    }
    if (workspace === state.workspaceId) await loadDocuments().catch(reportFailure);
  }

  // -- sessions -----------------------------------------------------------------------------

  function sessionKey() {
    return `chorus.session.${state.workspaceId}`;
  }

  function clearLog() {
    state.sessionId = null;
    state.pending = null;
    state.turns.clear();
    ui.log.replaceChildren();
    updateSendButton();
  }

  function startNewChat() {
    clearLog();
    if (state.workspaceId) localStorage.removeItem(sessionKey());
  }

  // Show the workspace's last session again, so a reload or a workspace switch loses nothing.
  async function resumeSession() {
    clearLog();
    const saved = state.workspaceId && localStorage.getItem(sessionKey());
    if (!saved) return;
    try {
      const session = await api(`/sessions/${encodeURIComponent(saved)}`);
      state.sessionId = session.id;
      for (const m of session.messages) {
        if (m.role === "user") {
          addUserTurn(m.content);
        } else if (m.role === "assistant") {
          const turn = addAssistantTurn();
          const details = m.details || {};
          if (details.sources) renderSources(turn, details.sources);
          if (details.error) renderTurnError(turn, details.error.code, details.error.message);
          else renderAnswer(turn, m.content, false, details);
          if (details.covered === false) markClosestMatches(turn);
          renderMeta(turn, { model: details.model, latencyMs: details.latencyMs, usage: details.usage, cost: details.cost });
        }
      }
      scrollToEnd();
    } catch {
      localStorage.removeItem(sessionKey()); // gone or another user's: start afresh quietly
    }
  }

  // -- the chat log -------------------------------------------------------------------------

  function addUserTurn(text) {
    ui.log.append(el("li", { class: "turn user", text }));
    scrollToEnd();
  }

  function addAssistantTurn() {
    const answer = el("div", { class: "answer streaming", "aria-busy": "true" });
    const sources = el("ol", { class: "sources", "aria-label": "Sources" });
    const meta = el("div", { class: "meta" });
    const node = el("li", { class: "turn assistant" }, answer, sources, meta);
    ui.log.append(node);
    scrollToEnd();
    return { node, answer, sources, meta, text: "", id: `t${Math.random().toString(36).slice(2, 10)}` };
  }

  // Render an answer with its [n] citations as links to the sources below it; sentences the
  // grounding check flagged are marked: unsupported (no source says it) apart from
  // contradicted (a source says otherwise — its sentence shows on hover and on click).
  function renderAnswer(turn, text, streaming, grounding) {
    turn.answer.replaceChildren();
    const marks = [];
    for (const sentence of (grounding && grounding.unsupported) || []) {
      const needle = String(typeof sentence === "string" ? sentence : sentence.text || "").trim();
      const at = needle ? text.indexOf(needle) : -1;
      if (at >= 0) marks.push({ start: at, end: at + needle.length, kind: "unsupported" });
    }
    for (const c of (grounding && grounding.contradicted) || []) {
      const needle = String(c.text || "").trim();
      const at = needle ? text.indexOf(needle) : -1;
      if (at >= 0) marks.push({ start: at, end: at + needle.length, kind: "contradicted", item: c });
    }
    marks.sort((a, b) => a.start - b.start);
    let last = 0;
    for (const mark of marks) {
      if (mark.start < last) continue;
      appendWithCitations(turn, text.slice(last, mark.start));
      turn.answer.append(markNode(turn, text.slice(mark.start, mark.end), mark));
      last = mark.end;
    }
    appendWithCitations(turn, text.slice(last));
    turn.answer.classList.toggle("streaming", streaming);
    turn.answer.setAttribute("aria-busy", streaming ? "true" : "false");
  }

  function appendWithCitations(turn, text, parent) {
    const into = parent || turn.answer;
    const pattern = /\[(\d+)\]/g;
    let last = 0;
    for (const match of text.matchAll(pattern)) {
      into.append(document.createTextNode(text.slice(last, match.index)));
      into.append(el("a", { class: "cite", href: `#${turn.id}-s${match[1]}`, text: `[${match[1]}]` }));
      last = match.index + match[0].length;
    }
    into.append(document.createTextNode(text.slice(last)));
  }

  function markNode(turn, sentence, mark) {
    if (mark.kind === "unsupported") {
      const node = el("mark", { class: "unsupported", title: "Not supported by the sources (grounding check)" });
      appendWithCitations(turn, sentence, node);
      return node;
    }
    const c = mark.item;
    const words = (c.differences || []).map((d) => `${d.kind}: “${d.claim}” vs “${d.source}”`).join("; ");
    const title = `May contradict source [${c.source}], check it: ${c.evidence || ""}${words ? ` (${words})` : ""}`;
    const node = el("mark", { class: "contradicted", title, tabindex: "0", role: "button" });
    appendWithCitations(turn, sentence, node);
    const evidence = el("span", { class: "evidence", hidden: "", text: ` Source [${c.source}] says: “${c.evidence || ""}”` });
    const toggle = () => { evidence.hidden = !evidence.hidden; };
    node.addEventListener("click", toggle);
    node.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(); } });
    const wrap = el("span", { class: "contradiction" }, node, evidence);
    return wrap;
  }

  // When the documents do not cover the question, its sources are only the closest matches:
  // shown collapsed under that name.
  function markClosestMatches(turn) {
    if (turn.sources.parentElement && turn.sources.parentElement.tagName === "DETAILS") return;
    const count = turn.sources.children.length;
    if (!count) return;
    const box = el("details", { class: "closest" }, el("summary", { text: `Closest matches (${count})` }));
    turn.sources.replaceWith(box);
    box.append(turn.sources);
  }

  function renderSources(turn, sources) {
    turn.sources.replaceChildren();
    for (const s of sources) {
      turn.sources.append(
        el(
          "li",
          { id: `${turn.id}-s${s.n}` },
          el("span", { class: "n", text: `[${s.n}]` }),
          el("span", { class: "doc", text: s.documentName || s.documentId }),
          el("span", { class: "score", text: `score ${Number(s.score).toFixed(3)}` }),
          el("p", { class: "snippet", text: s.snippet || "" }),
        ),
      );
    }
  }

  function renderMeta(turn, final) {
    const parts = [];
    if (final.model) parts.push(final.model);
    const latency = final.latencyMs || {};
    if (latency.total !== undefined) parts.push(`${Math.round(latency.total)} ms`);
    if (latency.retrieval !== undefined) parts.push(`retrieval ${Math.round(latency.retrieval)} ms`);
    if (latency.firstToken !== undefined && latency.firstToken !== null) {
      parts.push(`first token ${Math.round(latency.firstToken)} ms`);
    }
    const usage = final.usage || {};
    if (usage.inputTokens || usage.outputTokens) parts.push(`${usage.inputTokens} in / ${usage.outputTokens} out tokens`);
    if (final.cost) parts.push(`$${Number(final.cost).toFixed(4)}`);
    if (final.cached) parts.push("cached");
    turn.meta.textContent = parts.join(" · ");
  }

  function renderTurnError(turn, code, message) {
    turn.answer.replaceChildren(el("span", { class: "error", text: `${code}: ${message}` }));
    turn.answer.classList.remove("streaming");
    turn.answer.setAttribute("aria-busy", "false");
  }

  function turnFor(event) {
    if (event.messageId && state.turns.has(event.messageId)) return state.turns.get(event.messageId);
    if (state.pending) {
      const turn = state.pending;
      state.pending = null;
      if (event.messageId) state.turns.set(event.messageId, turn);
      return turn;
    }
    return null;
  }

  function onEvent(event) {
    switch (event.type) {
      case "heartbeat":
        return;
      case "sources": {
        const turn = turnFor(event);
        if (!turn) return;
        rememberSession(event.sessionId);
        renderSources(turn, event.sources || []);
        scrollToEnd();
        return;
      }
      case "token": {
        const turn = turnFor(event);
        if (!turn) return;
        turn.text += event.text;
        renderAnswer(turn, turn.text, true);
        scrollToEnd();
        return;
      }
      case "final": {
        const turn = turnFor(event);
        if (!turn) return;
        rememberSession(event.sessionId);
        turn.text = event.answer;
        renderAnswer(turn, event.answer, false, event);
        if (event.covered === false) markClosestMatches(turn);
        renderMeta(turn, event);
        state.turns.delete(event.messageId);
        updateSendButton();
        scrollToEnd();
        return;
      }
      case "error": {
        showError(event.code, event.message);
        const turn = turnFor(event);
        if (turn) {
          renderTurnError(turn, event.code, event.message);
          state.turns.delete(event.messageId);
        }
        updateSendButton();
        return;
      }
      default:
        showError("bad_event", `The server sent an event of unknown type ${JSON.stringify(event.type)}.`);
    }
  }

  function rememberSession(sessionId) {
    if (!sessionId || state.sessionId === sessionId) return;
    state.sessionId = sessionId;
    if (state.workspaceId) localStorage.setItem(sessionKey(), sessionId);
  }

  function busy() {
    return state.pending !== null || state.turns.size > 0;
  }

  function updateSendButton() {
    const open = state.socket && state.socket.readyState === WebSocket.OPEN;
    ui.send.disabled = !open || !state.workspaceId || busy();
  }

  function sendQuestion() {
    const text = ui.question.value.trim();
    if (!text || ui.send.disabled) return;
    const data = { workspaceId: state.workspaceId, text };
    if (state.sessionId) data.sessionId = state.sessionId;
    if (ui.model.value) data.models = [ui.model.value];
    state.socket.send(JSON.stringify({ action: "sendMessage", data }));
    addUserTurn(text);
    state.pending = addAssistantTurn();
    ui.question.value = "";
    updateSendButton();
  }

  // -- the WebSocket ------------------------------------------------------------------------

  function setConnection(label, cls) {
    ui.connection.textContent = label;
    ui.connection.className = `pill ${cls}`;
  }

  function connect() {
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = null;
    setConnection("connecting…", "");
    const socket = new WebSocket(state.config.websocketUrl);
    state.socket = socket;
    socket.addEventListener("open", () => {
      state.reconnectDelay = RECONNECT_MIN_MS;
      setConnection("connected", "open");
      clearInterval(state.heartbeatTimer);
      state.heartbeatTimer = setInterval(() => {
        if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ action: "heartbeat" }));
      }, HEARTBEAT_MS);
      updateSendButton();
    });
    socket.addEventListener("message", (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        showError("bad_event", "The server sent something that is not JSON.");
        return;
      }
      onEvent(event);
    });
    socket.addEventListener("close", () => {
      clearInterval(state.heartbeatTimer);
      if (state.socket !== socket) return;
      // A turn in flight is lost with its connection: say so instead of spinning forever.
      const lost = [state.pending, ...state.turns.values()].filter(Boolean);
      for (const turn of lost) renderTurnError(turn, "disconnected", "the connection dropped before the answer finished; ask again");
      state.pending = null;
      state.turns.clear();
      const delay = state.reconnectDelay;
      state.reconnectDelay = Math.min(RECONNECT_MAX_MS, delay * 2);
      const jittered = Math.round(delay * (0.75 + Math.random() * 0.5));
      setConnection(`offline: retrying in ${Math.ceil(jittered / 1000)} s`, "closed");
      state.reconnectTimer = setTimeout(connect, jittered);
      updateSendButton();
    });
  }

  // Retry at once, without waiting out the backoff, when the network or the tab comes back.
  function reconnectNow() {
    const socket = state.socket;
    if (socket && socket.readyState === WebSocket.CLOSED && state.reconnectTimer !== null) {
      state.reconnectDelay = RECONNECT_MIN_MS;
      connect();
    }
  }

  // -- wiring -------------------------------------------------------------------------------

  function wire() {
    ui.workspace.addEventListener("change", () => selectWorkspace(ui.workspace.value));
    window.addEventListener("online", reconnectNow);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") reconnectNow();
    });
    ui.newWorkspace.addEventListener("click", () => {
      const show = ui.workspaceForm.hidden;
      ui.workspaceForm.hidden = !show;
      ui.newWorkspace.setAttribute("aria-expanded", String(show));
      if (show) ui.workspaceName.focus();
    });
    ui.cancelWorkspace.addEventListener("click", () => {
      ui.workspaceForm.hidden = true;
      ui.newWorkspace.setAttribute("aria-expanded", "false");
      ui.newWorkspace.focus();
    });
    ui.workspaceForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const name = ui.workspaceName.value.trim();
      if (!name) return;
      try {
        await createWorkspace(name);
        ui.workspaceName.value = "";
        ui.workspaceForm.hidden = true;
        ui.newWorkspace.setAttribute("aria-expanded", "false");
        ui.question.focus();
      } catch (error) {
        reportFailure(error);
      }
    });
    ui.upload.addEventListener("change", async () => {
      const files = [...ui.upload.files];
      ui.upload.value = "";
      if (files.length) await uploadFiles(files);
    });
    ui.newChat.addEventListener("click", () => {
      startNewChat();
      ui.question.focus();
    });
    ui.composer.addEventListener("submit", (event) => {
      event.preventDefault();
      sendQuestion();
    });
    ui.question.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        sendQuestion();
      }
    });
  }

  async function start() {
    wire();
    try {
      const response = await fetch("/config.json");
      state.config = await response.json();
    } catch (error) {
      showError("config_unavailable", `Could not load /config.json: ${error.message}`);
      return;
    }
    for (const model of state.config.models || []) ui.model.append(el("option", { value: model, text: model }));
    if (state.config.defaultModel) ui.model.value = state.config.defaultModel;
    connect();
    try {
      await loadWorkspaces();
    } catch (error) {
      reportFailure(error);
    }
    ui.question.focus();
  }

  start();
})();
