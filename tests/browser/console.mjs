// Browser test of the garita console, driven by tests/console_browser.rs against a server filled by `garita demo`.
// Environment: BASE (http://127.0.0.1:PORT), PASSWORD (the demo users'), OUT (screenshot folder), CHROMIUM
// (browser executable). Exits non-zero on the first failed check; screenshots every page it visits.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const BASE = process.env.BASE;
const PASSWORD = process.env.PASSWORD;
const OUT = process.env.OUT || "screenshots";
mkdirSync(OUT, { recursive: true });

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
  console.log(`ok: ${message}`);
}

const problems = [];
function watch(page) {
  page.on("console", (msg) => {
    // Failed loads are judged by their response below (some pages answer 401/403 on purpose).
    if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource")) {
      problems.push(`${page.url()}: console error: ${msg.text()}`);
    }
  });
  page.on("response", (response) => {
    if (response.request().resourceType() !== "document" && response.status() >= 400) {
      problems.push(`${page.url()}: ${response.url()} answered ${response.status()}`);
    }
  });
  page.on("pageerror", (err) => problems.push(`${page.url()}: script error: ${err.message}`));
}

async function shot(page, name) {
  await page.screenshot({ path: `${OUT}/${name}.png`, fullPage: true });
  // Nothing may overflow sideways at this width.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(overflow <= 1, `${name}: no horizontal overflow (${overflow}px)`);
}

async function login(page, username) {
  await page.goto(`${BASE}/console`);
  check(page.url().endsWith("/console/login"), `${username}: anonymous visit goes to the login page`);
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", PASSWORD);
  await Promise.all([page.waitForURL(`${BASE}/console`), page.click("button[type=submit]")]);
}

async function logout(page) {
  await Promise.all([page.waitForURL(/\/console\/login$/), page.click("header form button")]);
}

async function imagesLoaded(page) {
  return page.evaluate(async () => {
    const images = [...document.querySelectorAll("figure img")];
    await Promise.all(images.map((img) => img.complete ? null : new Promise((r) => { img.onload = img.onerror = r; })));
    return images.every((img) => img.naturalWidth > 0);
  });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
});
try {
  const desktop = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await desktop.newPage();
  watch(page);

  // Log in as an officer and see the dashboard.
  await page.goto(`${BASE}/console/login`);
  await shot(page, "01-login");
  await page.fill("input[name=username]", "officer");
  await page.fill("input[name=password]", "wrong password");
  await page.click("button[type=submit]");
  check((await page.textContent(".error-detail")).includes("Wrong username"), "a wrong password is refused");
  await login(page, "officer");
  check((await page.textContent("h1")).includes("Dashboard"), "officer sees the dashboard");
  const people = Number(await page.textContent(".tile-people .value"));
  check(people > 0, `dashboard counts people scanned (${people})`);
  check((await page.locator(".chart svg").count()) === 3, "dashboard draws three charts");
  check((await page.locator("table.by-site tbody tr").count()) === 3, "dashboard counts each of the three sites");
  await shot(page, "02-dashboard");

  // Open an alert and confirm it.
  await page.click("header nav >> text=Alerts");
  await shot(page, "03-alerts");
  const alertLinks = page.locator("table.list tbody a");
  check((await alertLinks.count()) > 0, "the open alerts queue is not empty");
  await alertLinks.first().click();
  await page.waitForSelector(".compare");
  check(await imagesLoaded(page), "alert fingerprints render");
  check((await page.locator("svg.print .minutiae circle").count()) > 0, "minutiae are drawn over the prints");
  await shot(page, "04-alert");
  await page.fill("textarea[name=reason]", "same person, confirmed at secondary inspection");
  await Promise.all([page.waitForLoadState("load"), page.click("button[value=confirmed]")]);
  await page.waitForSelector("h1 .badge-confirmed");
  check(true, "the alert is confirmed");
  await shot(page, "05-alert-confirmed");

  // Find a scanned consignment, zoom, draw a finding, record a decision.
  await page.goto(`${BASE}/console/consignments`);
  await shot(page, "06-inspection");
  const hrefs = await page.$$eval("table.list tbody a", (links) => links.map((a) => a.getAttribute("href")));
  let scanned = null;
  for (const href of hrefs) {
    await page.goto(`${BASE}${href}`);
    if (await page.locator("#xray").count()) { scanned = href; break; }
  }
  check(scanned !== null, "a scanned consignment is in the queue");
  await page.waitForFunction(() => document.getElementById("xray").dataset.ready === "true");
  const canvas = page.locator("#xray canvas");
  const zoom0 = Number(await canvas.getAttribute("data-zoom"));
  await page.click("[data-act=zoom-in]");
  const zoom1 = Number(await canvas.getAttribute("data-zoom"));
  check(zoom1 > zoom0, `zoom in enlarges the image (${zoom0} -> ${zoom1})`);
  await page.click("[data-act=reset]");
  await shot(page, "07-scan");
  await page.click("[data-act=draw]");
  const box = await canvas.boundingBox();
  await page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.3);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5, { steps: 5 });
  await page.mouse.up();
  const width = Number(await page.inputValue("#finding-form input[name=width]"));
  check(width > 0, `drawing fills the finding's region (width ${width})`);
  await page.fill("#finding-form input[name=kind]", "unexpected_organic");
  await page.fill("#finding-form textarea[name=reason]", "dense organic block behind the cartons");
  await shot(page, "08-scan-drawn");
  await Promise.all([page.waitForLoadState("load"), page.click("#finding-form button[type=submit]")]);
  await page.waitForSelector("text=dense organic block behind the cartons");
  check(true, "the officer's finding is recorded");
  const decision = page.locator("form[action$=decisions]");
  await decision.locator("select").selectOption("hold");
  await decision.locator("textarea").fill("hold for physical examination");
  await Promise.all([page.waitForLoadState("load"), decision.locator("button").click()]);
  await page.waitForSelector(".timeline >> text=hold for physical examination");
  check(true, "the decision is recorded");
  await page.waitForFunction(() => document.getElementById("xray").dataset.ready === "true");
  await shot(page, "09-scan-decided");

  // Subjects and an encounter.
  await page.goto(`${BASE}/console/subjects`);
  await shot(page, "10-subjects");
  await page.locator("table.list tbody a").first().click();
  await page.waitForSelector(".timeline");
  await shot(page, "11-subject");
  await page.locator(".timeline a").first().click();
  await page.waitForSelector(".samples");
  check(await imagesLoaded(page), "encounter samples render");
  await shot(page, "12-encounter");
  await logout(page);

  // An auditor may not see alerts (403 page) but reads the audit trail.
  await login(page, "auditor");
  check(!(await page.locator("header nav >> text=Alerts").count()), "auditor's navigation has no Alerts");
  const refused = await page.goto(`${BASE}/console/alerts`);
  check(refused.status() === 403, `auditor gets 403 on alerts (${refused.status()})`);
  check((await page.textContent("h1")).includes("Not allowed"), "the 403 page says so");
  await shot(page, "13-forbidden");
  await page.goto(`${BASE}/console/audit?user=officer`);
  check((await page.locator("table.audit tbody tr").count()) > 0, "the audit trail shows the officer's reads");
  await shot(page, "14-audit");
  await logout(page);

  // Admin pages.
  await login(page, "admin");
  await page.goto(`${BASE}/console/admin/devices`);
  check((await page.locator("table.list tbody tr").count()) >= 6, "admin sees the devices");
  await shot(page, "15-devices");
  await page.goto(`${BASE}/console/admin/users`);
  await shot(page, "16-users");
  await logout(page);

  // Tablet width.
  const tablet = await browser.newContext({ viewport: { width: 820, height: 1180 } });
  const tab = await tablet.newPage();
  watch(tab);
  await login(tab, "supervisor");
  await shot(tab, "21-tablet-dashboard");
  await tab.goto(`${BASE}${scanned}`);
  await tab.waitForFunction(() => document.getElementById("xray").dataset.ready === "true");
  await shot(tab, "22-tablet-scan");
  await tab.goto(`${BASE}/console/alerts?status=all`);
  await tab.locator("table.list tbody a").first().click();
  await tab.waitForSelector(".compare");
  await shot(tab, "23-tablet-alert");

  check(problems.length === 0, `no script or CSP errors${problems.length ? ": " + problems.join("; ") : ""}`);
  console.log("console browser test passed");
} finally {
  await browser.close();
}
