// Vigil's UI and status page in real headless Chromium, driven by playwright-core.
// tests/it/browser.rs starts `vigil run` and a fake API, then runs this with:
//   VIGIL_URL  the UI's base URL        TOKEN  a responder token
//   API_URL    the fake API (POST /fail, /recover)
//   SHOTS      where screenshots go     CHROMIUM  the browser to drive
// It prints one line per step and exits non-zero on the first failure.
import { chromium } from 'playwright-core';
import { mkdirSync, rmSync } from 'node:fs';

const { VIGIL_URL, TOKEN, API_URL, SHOTS, CHROMIUM } = process.env;
rmSync(SHOTS, { recursive: true, force: true });
mkdirSync(SHOTS, { recursive: true });

const problems = [];
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
page.on('console', (message) => {
  if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
});
page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`));
page.on('response', (response) => {
  if (response.status() >= 500 || response.status() === 404) problems.push(`answer ${response.status()} for ${response.url()}`);
});

const step = (text) => console.log(`step: ${text}`);
const shot = (name) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
function check(condition, what) {
  if (!condition) throw new Error(`failed: ${what}`);
}
/** Reloads `path` until `test(page)` holds, for up to `seconds`. */
async function until(path, test, what, seconds = 30) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    await page.goto(`${VIGIL_URL}${path}`);
    if (await test()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await page.waitForTimeout(300);
  }
}
const text = () => page.locator('main').innerText();
const summary = async () => (await (await fetch(`${VIGIL_URL}/status/api/v2/summary.json`)).json());

try {
  step('signing in');
  await page.goto(`${VIGIL_URL}/ui`);
  check(page.url().includes('/ui/login'), `sent to the sign-in form, not ${page.url()}`);
  await page.getByLabel('API token').fill(TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${VIGIL_URL}/ui`);
  const cookies = await context.cookies();
  const session = cookies.find((cookie) => cookie.name === 'vigil_session');
  check(session && session.httpOnly && session.sameSite === 'Strict', `an HttpOnly, SameSite=Strict cookie: ${JSON.stringify(session)}`);

  step('the monitor comes up on the overview');
  await until('/ui', async () => (await page.locator('tr.up').filter({ hasText: 'api' }).count()) === 1, 'api to be UP');
  await shot('overview-up');
  check(await page.locator('tr.up svg.bar path.none').isVisible(), 'the 90-day bar draws its days without data');
  check(await page.locator('tr.up svg.bar path.good').isVisible(), 'the 90-day bar draws today');
  check((await summary()).status.indicator === 'none', 'the status page says all is well while the API is up');

  step('keyboard: the first Tab reaches the skip link');
  await page.keyboard.press('Tab');
  check(await page.evaluate(() => document.activeElement?.textContent) === 'Skip to content', 'skip link focused first');

  step('the API fails; the overview shows it DOWN with its diagnosis');
  await fetch(`${API_URL}/fail`, { method: 'POST' });
  await until('/ui', async () => (await page.locator('tr.down').filter({ hasText: 'api' }).count()) === 1, 'api to be DOWN');
  check((await page.locator('tr.down td.failure').innerText()).includes('[STATUS] (500) == 200'), 'the latest failure is shown');
  await shot('overview-down');

  step('the status page and its JSON change');
  await until('/status', async () => (await page.locator('.headline').innerText()).includes('Outage'), 'the status page to show the outage');
  const down = await summary();
  check(down.status.indicator !== 'none' && down.components[0].status === 'major_outage', `summary.json shows the outage: ${JSON.stringify(down.status)}`);
  await shot('status-down');

  step('silencing the firing alert from the alerts page, with a preview');
  await until('/ui/alerts', async () => (await page.getByRole('link', { name: 'Silence…' }).count()) > 0, 'the alert to fire');
  await shot('alerts');
  await page.getByRole('link', { name: 'Silence…' }).first().click();
  await page.getByLabel('Comment').fill('maintenance: restarting the API');
  await page.getByRole('button', { name: 'Preview' }).click();
  check((await text()).includes('Matches 1 firing alert(s) now'), 'the preview shows the alert it matches');
  await page.getByLabel('Comment').fill('maintenance: restarting the API');
  await page.getByRole('button', { name: 'Create silence' }).click();
  await page.waitForURL(/\/ui\/silences/);
  check((await page.locator('tbody tr').first().innerText()).includes('ACTIVE'), 'the new silence is active');
  await shot('silences');
  await page.goto(`${VIGIL_URL}/ui/alerts`);
  check((await text()).includes('SUPPRESSED') && (await text()).includes('silenced by'), 'the alert shows why it is muted');

  step('acknowledging the incident and adding a note');
  await until('/ui/incidents', async () => (await page.locator('section[aria-labelledby="open"] tbody tr').count()) > 0, 'an incident to open');
  await page.locator('section[aria-labelledby="open"] tbody tr a').first().click();
  await page.getByRole('button', { name: 'Acknowledge' }).click();
  check((await text()).includes('by alice'), 'acknowledged by alice');
  await page.getByLabel('Note (internal)').fill('Restarting the API pods');
  await page.getByRole('button', { name: 'Add note' }).click();
  check((await page.locator('ol.timeline').innerText()).includes('Restarting the API pods'), 'the note is on the timeline');
  await shot('incident');

  step('the API recovers; the overview, the status page and its JSON follow');
  await fetch(`${API_URL}/recover`, { method: 'POST' });
  await until('/ui', async () => (await page.locator('tr.up').filter({ hasText: 'api' }).count()) === 1, 'api to be UP again');
  await until('/status', async () => (await page.locator('.headline').innerText()).includes('Operational')
    || (await page.locator('.headline').innerText()).includes('Maintenance'), 'the status page to recover');
  await shot('status-up');

  step('the SLO page draws a bar per alert window');
  await page.goto(`${VIGIL_URL}/ui/slos`);
  const windows = page.locator('svg.burn text');
  check((await windows.count()) === 8, `eight windows, not ${await windows.count()}`);
  check(await windows.nth(7).isVisible(), 'the last window is drawn too');

  step('the other pages render');
  for (const path of ['/ui/monitors/api', '/ui/slos', '/ui/oncall', '/ui/actions']) {
    await page.goto(`${VIGIL_URL}${path}`);
    check((await page.locator('h1').count()) === 1, `${path} has a heading`);
    await shot(path.slice(4).replaceAll('/', '-'));
  }

  step('readable at 320 px wide');
  await page.setViewportSize({ width: 320, height: 800 });
  await page.goto(`${VIGIL_URL}/ui`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(overflow <= 0, `no sideways scrolling at 320 px (overflow ${overflow} px)`);
  await shot('overview-320');

  step('signing out');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/ui\/login/);
  await page.goto(`${VIGIL_URL}/ui/alerts`);
  check(page.url().includes('/ui/login'), 'signed out');
} catch (error) {
  await shot('failure').catch(() => {});
  console.log(`FAIL ${error.message}`);
  problems.push(error.message);
}
await browser.close();
if (problems.length > 0) {
  for (const problem of problems) console.log(`problem: ${problem}`);
  process.exit(1);
}
console.log('ok');
