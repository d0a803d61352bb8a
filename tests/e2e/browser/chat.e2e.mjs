// End to end in a real Chromium against a running `chorus up`:
// sign in → create a workspace → upload a document → watch it reach `indexed` → ask → tokens
// stream and sources appear → thumbs up with a comment → reload → the session is in the history
// → add a Q&A pair in the app → a differently worded question finds it as the first source.
//
// Environment: BASE_URL (required), CHROMIUM_PATH (default: /usr/bin/chromium),
// ARTIFACTS (folder for screenshots; default ./artifacts), E2E_USER (default e2e-user).
// Prints one JSON line with what it saw; exits non-zero with the failing step on error.

import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const BASE_URL = process.env.BASE_URL;
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARTIFACTS = process.env.ARTIFACTS || path.resolve("artifacts");
const USER = process.env.E2E_USER || "e2e-user";
const WORKSPACE = `E2E docs ${Date.now().toString(36)}`;
const DOCUMENT = "honeybees.md";
const QUESTION = "How do bees tell the colony where the flowers are?";
// A Q&A pair added through the app, then found by a question worded differently.
const QA_QUESTION = "What colour is the door of the observation hive?";
const QA_ANSWER = "The observation hive's door is painted cobalt blue so visitors can find it.";
const QA_ASK = "Which colour is the observation hive door painted?";
const STEP_MS = 20_000;

if (!BASE_URL) {
  console.error("BASE_URL is not set");
  process.exit(2);
}
mkdirSync(ARTIFACTS, { recursive: true });

const DOC_TEXT = [
  "# Honeybees",
  "",
  "A honeybee colony has one queen, thousands of worker bees and a few drones.",
  "Worker bees collect nectar from flowers and turn it into honey in the hive.",
  "Bees perform a waggle dance to tell the colony where the flowers are.",
  "",
].join("\n");

const result = { steps: [], consoleErrors: [], frames: { sources: 0, token: 0, final: 0, error: 0 } };
let step = "launch";
const started = Date.now();
const mark = (name) => {
  result.steps.push({ name, ms: Date.now() - started });
  step = name;
};

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
  ],
});

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 820 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on("console", (m) => {
    // The 400 the "web source refused" step provokes on purpose is logged by Chromium too.
    const refusedSource = /\/sources$/.test(m.location().url ?? "") && m.text().includes("status of 400");
    if (m.type() === "error" && !refusedSource) result.consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => result.consoleErrors.push(`pageerror: ${e.message}`));
  // Every server event the app receives, in order: proves tokens streamed before `final`.
  const order = [];
  page.on("websocket", (ws) => {
    ws.on("framereceived", ({ payload }) => {
      try {
        const event = JSON.parse(String(payload));
        if (event.type in result.frames) {
          result.frames[event.type] += 1;
          order.push(event.type);
        }
        if (event.type === "final" && !result.sessionId) {
          // The first answer (the one rated); the Q&A step's answer comes later in a new chat.
          result.sessionId = event.sessionId;
          result.messageId = event.messageId;
          result.finalAnswer = event.answer;
        }
      } catch {
        /* not JSON: the app reports it itself */
      }
    });
  });

  mark("sign in");
  await page.goto(BASE_URL);
  await page.getByLabel("User name").fill(USER);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("connection").filter({ hasText: "connected" }).waitFor();

  mark("create workspace");
  await page.getByRole("button", { name: "New", exact: true }).click();
  await page.getByRole("form", { name: "New workspace" }).getByLabel("Name").fill(WORKSPACE);
  await page.getByRole("button", { name: "Create" }).click();
  await page.waitForFunction(
    (name) => {
      const select = document.querySelector("#workspace");
      return select && select.selectedOptions[0] && select.selectedOptions[0].textContent === name;
    },
    WORKSPACE,
  );

  mark("upload document");
  await page.locator("#upload").setInputFiles({ name: DOCUMENT, mimeType: "text/markdown", buffer: Buffer.from(DOC_TEXT) });
  const row = page.getByRole("list", { name: "Documents" }).getByRole("listitem").filter({ hasText: DOCUMENT });
  mark("document indexed");
  await row.locator(".status.indexed").waitFor({ timeout: 60_000 });

  mark("web source refused");
  // The server itself is a loopback address: the SSRF guard refuses it and the panel says why.
  const sourcesPanel = page.getByRole("region", { name: "Web sources" });
  await sourcesPanel.getByLabel("Start page URL").fill(`${BASE_URL}/`);
  await sourcesPanel.getByRole("button", { name: "Add site" }).click();
  await sourcesPanel.locator('[role="alert"][data-code="address_refused"]').waitFor();
  await sourcesPanel.getByText("No sites or feeds yet.").waitFor();

  mark("ask");
  const statuses = [];
  await page.exposeFunction("__chorusTurnStatus", (s) => statuses.push(s));
  await page.evaluate(() => {
    const seen = new Set();
    new MutationObserver(() => {
      for (const t of document.querySelectorAll(".turn")) {
        const s = t.getAttribute("data-status");
        if (s && !seen.has(s)) {
          seen.add(s);
          window.__chorusTurnStatus(s);
        }
      }
    }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-status"] });
  });
  await page.getByLabel("Your question").fill(QUESTION);
  await page.keyboard.press("Enter");
  const turn = page.locator(".turn").last();
  mark("answer streamed");
  await turn.and(page.locator('[data-status="done"]')).waitFor({ timeout: 60_000 });
  const answer = (await turn.locator(".answer-text").first().innerText()).trim();
  if (!answer) throw new Error("the answer is empty");
  result.answer = answer;
  result.statuses = statuses;
  result.order = order;
  const firstToken = order.indexOf("token");
  if (firstToken < 0 || firstToken > order.indexOf("final")) throw new Error(`no token before final: ${order}`);

  mark("sources shown");
  const sources = turn.locator(".sources li");
  await sources.first().waitFor();
  result.sources = await sources.allInnerTexts();
  if (!result.sources.some((s) => s.includes(DOCUMENT))) throw new Error(`no source names ${DOCUMENT}: ${result.sources}`);
  result.stats = await turn.locator(".stats").innerText();
  await page.screenshot({ path: path.join(ARTIFACTS, "chat-desktop.png"), fullPage: false });

  mark("feedback");
  await turn.getByRole("button", { name: "Thumbs up" }).click();
  await turn.getByLabel("Comment (optional)").fill("Clear and cited.");
  await turn.getByRole("button", { name: "Send feedback" }).click();
  await turn.getByText("Thanks for the feedback").waitFor();

  mark("eval set");
  // The thumbs up made an accepted regression case of the turn: the panel lists it.
  const evalSet = page.getByRole("region", { name: "Eval set" });
  await evalSet.getByRole("button", { name: "accepted", exact: true }).click();
  await evalSet.locator(".question").filter({ hasText: QUESTION }).waitFor();
  await turn.getByRole("button", { name: "Mark as eval case", exact: true }).click();
  await turn.getByText("Added to the eval set.").waitFor();
  result.evalCases = await evalSet.locator(".question").allInnerTexts();
  await page.screenshot({ path: path.join(ARTIFACTS, "eval-set-desktop.png") });

  mark("reload and find the session");
  await page.reload();
  await page.getByTestId("connection").filter({ hasText: "connected" }).waitFor();
  const history = page.getByRole("list", { name: "Chat history" });
  const entry = history.getByRole("button", { name: QUESTION.slice(0, 30) });
  await entry.first().click();
  const restored = page.locator(".turn").last();
  await restored.locator(".msg.user").filter({ hasText: QUESTION }).waitFor();
  await restored.locator(".sources li").filter({ hasText: DOCUMENT }).first().waitFor();
  const pressed = await restored.getByRole("button", { name: "Thumbs up" }).getAttribute("aria-pressed");
  if (pressed !== "true") throw new Error("the restored answer does not show the thumbs up");
  await page.screenshot({ path: path.join(ARTIFACTS, "history-desktop.png") });

  mark("q&a pair added");
  // A new chat, a Q&A pair through the Text and Q&A panel, indexed, then found by a question.
  await page.getByRole("button", { name: "New chat", exact: true }).click();
  const qaPanel = page.getByRole("region", { name: "Text and Q&A" });
  await qaPanel.getByLabel("Question").fill(QA_QUESTION);
  await qaPanel.getByLabel("Answer").fill(QA_ANSWER);
  await qaPanel.getByRole("button", { name: "Add Q&A pair" }).click();
  await qaPanel.getByRole("list", { name: "Added" }).locator('[data-status="indexed"]').waitFor({ timeout: 60_000 });
  const qaRow = page.getByRole("list", { name: "Documents" }).getByRole("listitem").filter({ hasText: "Q&A " });
  await qaRow.locator(".status.indexed").waitFor();
  result.qaDocument = (await qaRow.locator(".name").innerText()).trim();

  mark("q&a pair found");
  await page.getByLabel("Your question").fill(QA_ASK);
  await page.keyboard.press("Enter");
  const qaTurn = page.locator(".turn").last();
  await qaTurn.and(page.locator('[data-status="done"]')).waitFor({ timeout: 60_000 });
  await qaTurn.locator(".sources li").first().waitFor();
  result.qaSources = await qaTurn.locator(".sources li").allInnerTexts();
  if (!result.qaSources[0]?.includes(result.qaDocument)) {
    throw new Error(`the Q&A pair is not the first source: ${result.qaSources}`);
  }
  await page.screenshot({ path: path.join(ARTIFACTS, "qa-desktop.png") });

  mark("phone layout");
  // A fresh page at phone size, still signed in (same storage): panels fold, the chat follows.
  const phone = await browser.newContext({
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
    storageState: await context.storageState(),
  });
  const small = await phone.newPage();
  small.setDefaultTimeout(STEP_MS);
  await small.goto(BASE_URL);
  await small.getByTestId("connection").filter({ hasText: "connected" }).waitFor();
  await small.locator("summary", { hasText: "Chats" }).click(); // folded on phones
  await small.getByRole("list", { name: "Chat history" }).getByRole("button", { name: QUESTION.slice(0, 30) }).first().click();
  await small.locator("summary", { hasText: "Chats" }).click();
  await small.locator(".turn .sources li").first().waitFor({ state: "attached" });
  await small.locator(".turn").last().scrollIntoViewIfNeeded();
  await small.screenshot({ path: path.join(ARTIFACTS, "chat-phone.png") });
  const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 2) throw new Error(`the phone layout scrolls sideways by ${overflow}px`);
  await phone.close();

  mark("done");
  result.ok = true;
  result.totalMs = Date.now() - started;
  console.log(JSON.stringify(result));
} catch (error) {
  result.ok = false;
  result.failedStep = step;
  result.error = String(error && error.stack ? error.stack : error);
  try {
    const pages = browser.contexts().flatMap((c) => c.pages());
    if (pages[0]) await pages[0].screenshot({ path: path.join(ARTIFACTS, "failure.png") });
  } catch {
    /* best effort */
  }
  console.log(JSON.stringify(result));
  process.exitCode = 1;
} finally {
  await browser.close();
}
