// Swagger UI in a real browser (Debian's Chromium, driven by playwright-core):
// every module's routes are listed; register, log in, Authorize, GET /users/me
// and a multipart upload all work from the page, an untouched upload form
// stores no placeholder title or tags; no console errors (so the
// CSP lets the page work). Leaves a screenshot in test/artifacts/.
// Run by scripts/browser-test.sh (npm run test:browser), which installs Chromium.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from '../../bench/lib.mjs';

const root = new URL('../..', import.meta.url).pathname;
const artifacts = join(root, 'test', 'artifacts');
mkdirSync(artifacts, { recursive: true });

const results = [];
async function check(name, run) {
  const started = performance.now();
  try {
    await run();
    results.push({ name, ok: true });
    console.log(`ok    ${name} (${Math.round(performance.now() - started)} ms)`);
  } catch (error) {
    results.push({ name, ok: false });
    console.log(`FAIL  ${name}: ${error.message.split('\n')[0]}`);
  }
}

const dataDir = process.env.DATABASE_URL ? undefined : mkdtempSync(join(tmpdir(), 'ultrai-browser-'));
const server = await startServer({
  NODE_ENV: 'development',
  ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : { DATA_DIR: dataDir }),
});
const profile = mkdtempSync(join(tmpdir(), 'ultrai-chromium-'));
let context;
try {
  // A fresh profile each run (launchPersistentContext is how playwright takes a --user-data-dir).
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 1600 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
} catch (error) {
  await server.stop();
  throw error;
}
const page = context.pages()[0] ?? (await context.newPage());
const consoleErrors = [];
page.on('console', (message) => message.type() === 'error' && consoleErrors.push(message.text()));
page.on('pageerror', (error) => consoleErrors.push(error.message));

/** Opens an operation, presses "Try it out" when needed, runs it and returns the status and body shown. */
async function execute(operationId, fill = async () => {}) {
  const block = page.locator(`#operations-${operationId}`);
  if (!(await block.locator('.opblock-body').isVisible())) await block.locator('.opblock-summary').click();
  const tryIt = block.locator('button.try-out__btn', { hasText: 'Try it out' });
  if ((await tryIt.count()) > 0) await tryIt.first().click();
  await fill(block);
  await block.locator('button.execute').click();
  const live = block.locator('.live-responses-table .response').first();
  await live.waitFor({ timeout: 15_000 });
  const status = Number((await live.locator('.response-col_status').innerText()).trim());
  const body = await live
    .locator('.response-col_description pre.microlight')
    .first()
    .innerText()
    .catch(() => '');
  return { status, body };
}

const email = `swagger-${Date.now()}@example.com`;
const password = 'typed into swagger ui';
let token = '';
try {
  await check('the page loads', async () => {
    await page.goto(`${server.url}/docs`, { waitUntil: 'networkidle' });
    await page.locator('.swagger-ui .info .title').waitFor();
    const title = await page.locator('.swagger-ui .info .title').innerText();
    if (!title.includes('ultrai-core')) throw new Error(`title is ${title}`);
  });

  await check("every module's routes are listed", async () => {
    const tags = await page.locator('.opblock-tag').allInnerTexts();
    for (const tag of ['Health', 'Auth', 'Users', 'Documents', 'Operations']) {
      if (!tags.some((t) => t.startsWith(tag))) throw new Error(`tag ${tag} missing (have ${tags.join(', ')})`);
    }
    const paths = await page.locator('.opblock-summary-path').allInnerTexts();
    for (const path of [
      '/health/ready',
      '/auth/register',
      '/auth/login',
      '/users/me',
      '/documents',
      '/documents/{id}/content',
      '/metrics',
    ]) {
      if (!paths.some((p) => p.replace(/\u200b/g, '') === path)) throw new Error(`${path} missing`);
    }
  });

  await check('register through "Try it out" (201)', async () => {
    const { status } = await execute('Auth-AuthController_register', async (block) => {
      await block
        .locator('textarea.body-param__text')
        .fill(JSON.stringify({ email, password, username: 'swagger_user' }));
    });
    if (status !== 201) throw new Error(`status ${status}`);
  });

  await check('log in through "Try it out" (200, a token on the page)', async () => {
    const { status, body } = await execute('Auth-AuthController_login', async (block) => {
      await block.locator('textarea.body-param__text').fill(JSON.stringify({ email, password }));
    });
    if (status !== 200) throw new Error(`status ${status}`);
    token = JSON.parse(body).access_token;
    if (!token) throw new Error('no access_token in the response shown');
  });

  await check('paste the token into "Authorize"', async () => {
    await page.locator('.auth-wrapper button.authorize').click();
    const dialog = page.locator('.modal-ux');
    await dialog.locator('input[type=text], input:not([type])').first().fill(token);
    await dialog.locator('button.authorize').click();
    await dialog.locator('button.btn-done').click();
  });

  await check('GET /users/me with the token (200, our email on the page)', async () => {
    const { status, body } = await execute('Users-UsersController_me');
    if (status !== 200) throw new Error(`status ${status}`);
    if (JSON.parse(body).email !== email) throw new Error('another user?');
  });

  await check('an untouched upload form sends no title or tags (not the word "string")', async () => {
    const file = join(profile, 'untouched.txt');
    writeFileSync(file, 'Nothing typed but the file\n');
    const { status, body } = await execute('Documents-DocumentsController_create', async (block) => {
      const contentType = block.locator('.body-param-content-type select');
      if ((await contentType.count()) > 0) await contentType.selectOption('multipart/form-data');
      await block.locator('input[type=file]').setInputFiles(file);
    });
    if (status !== 201) throw new Error(`status ${status}: ${body.slice(0, 300).replace(/\s+/g, ' ')}`);
    const { title, tags } = JSON.parse(body);
    if (title !== 'untouched' || tags.length !== 0) throw new Error(`stored title ${title}, tags ${tags}`);
  });

  await check('upload a small file through the multipart form (201)', async () => {
    const file = join(profile, 'hello.txt');
    writeFileSync(file, 'Hello from Swagger UI\n');
    const { status, body } = await execute('Documents-DocumentsController_create', async (block) => {
      const contentType = block.locator('.body-param-content-type select');
      if ((await contentType.count()) > 0) await contentType.selectOption('multipart/form-data');
      await block.locator('input[type=file]').setInputFiles(file);
      const title = block.locator('tr[data-param-name="title"] input');
      if ((await title.count()) > 0) await title.fill('From the browser');
    });
    if (status !== 201) throw new Error(`status ${status}: ${body.slice(0, 300).replace(/\s+/g, ' ')}`);
    if (JSON.parse(body).sha256 === undefined) throw new Error('no document in the response shown');
  });

  await check('no console errors (the CSP lets the page work)', async () => {
    if (consoleErrors.length > 0) throw new Error(consoleErrors.join(' | '));
  });
} finally {
  await page
    .locator('#operations-Documents-DocumentsController_create .live-responses-table')
    .scrollIntoViewIfNeeded()
    .catch(() => undefined);
  await page.screenshot({ path: join(artifacts, 'swagger-ui.png'), fullPage: false }).catch(() => undefined);
  await context.close();
  await server.stop();
  rmSync(profile, { recursive: true, force: true });
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}

const failed = results.filter((r) => !r.ok).length;
console.log(`screenshot: ${join('test', 'artifacts', 'swagger-ui.png')}`);
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
