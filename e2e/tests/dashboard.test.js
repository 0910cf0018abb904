// The dashboard as a newcomer meets it, in headless Chromium against the real binary: first
// run through the install link, keyboard-only sign-in and navigation, a collection with text,
// number, relation and file fields and a rule, records through the forms, filter, sort, edit,
// live updates, delete and bulk delete, settings, and a phone-width layout.
// Steps share one server and one browser page and run in order.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launch, shot } from '../lib/browser.js';
import { startServer } from '../lib/server.js';

const EMAIL = 'admin@example.com';
const PASSWORD = 'AdminPass123!';
const TIMEOUT = 10_000;

// A 2x2 PNG, so the upload is a real image the API can thumbnail.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==',
  'base64',
);

let server;
let browser;
let page;
const pageErrors = [];

/** The accessible name and role of what has the keyboard focus. */
async function focused() {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return { tag: 'body', name: '' };
    const label = el.labels && el.labels[0] ? el.labels[0].textContent : '';
    return {
      tag: el.tagName.toLowerCase(),
      name: (el.getAttribute('aria-label') || label || el.textContent || el.getAttribute('name') || '').trim(),
      outline: getComputedStyle(el).outlineStyle,
    };
  });
}

async function tabUntil(pattern, max = 25) {
  const seen = [];
  for (let i = 0; i < max; i += 1) {
    await page.keyboard.press('Tab');
    const f = await focused();
    seen.push(f.name);
    if (pattern.test(f.name)) return { focus: f, seen };
  }
  throw new Error(`Tab never reached ${pattern}; focus went through: ${seen.join(' | ')}`);
}

async function superuserToken() {
  const res = await fetch(`${server.url}/api/collections/_superusers/auth-with-password`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ identity: EMAIL, password: PASSWORD }),
  });
  assert.equal(res.status, 200);
  return (await res.json()).token;
}

function rows() {
  return page.locator('table.records tbody tr');
}

async function search(text) {
  const box = page.getByRole('searchbox', { name: /Search or filter/ });
  await box.fill(text);
  await box.press('Enter');
}

describe('dashboard', { timeout: 180_000 }, () => {
  before(async () => {
    server = await startServer();
    browser = await launch();
    page = await browser.context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('serve prints a one-time install link while no superuser exists', () => {
    assert.match(server.output(), /No superuser yet/);
    assert.match(server.installLink, /\/_\/#\/install\/[A-Za-z0-9]{32,}$/);
  });

  test('the install link opens the first-superuser form, which signs in', async () => {
    await page.goto(server.installLink);
    await page.getByRole('heading', { name: 'Create the first superuser' }).waitFor();
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password', { exact: true }).fill('short');
    await page.getByLabel('Repeat the password').fill('short');
    await page.getByRole('button', { name: 'Create superuser and sign in' }).click();
    // The API's own validation message, under the field it is about; the link still works.
    await page.locator('.error-text').filter({ hasText: /at least 8/i }).waitFor();
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Repeat the password').fill(PASSWORD);
    await shot(page, '01-install');
    await page.getByRole('button', { name: 'Create superuser and sign in' }).click();
    await page.getByRole('heading', { name: 'Start with a collection' }).waitFor();
    await page.getByText(EMAIL).waitFor();
    await shot(page, '02-welcome');
  });

  test('the used link is refused, in the page and by the API', async () => {
    const other = await browser.context.newPage();
    await other.goto(server.installLink);
    await other.getByRole('heading', { name: 'This install link cannot be used' }).waitFor({ timeout: TIMEOUT });
    await other.close();
    const token = server.installLink.split('/install/')[1];
    const res = await fetch(`${server.url}/api/install`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, email: 'second@example.com', password: 'AnotherPass123', passwordConfirm: 'AnotherPass123' }),
    });
    assert.equal(res.status, 403);
  });

  test('sign out, then sign in with the keyboard alone', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    // The email field has the focus on arrival.
    assert.equal((await focused()).tag, 'input');
    await page.keyboard.type(EMAIL);
    await page.keyboard.press('Tab');
    assert.match((await focused()).name, /Password/);
    await page.keyboard.type('wrong password');
    await page.keyboard.press('Tab');
    const button = await focused();
    assert.equal(button.name, 'Sign in');
    assert.notEqual(button.outline, 'none', 'the focused button shows a focus ring');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'do not match' }).waitFor();
    await shot(page, '03-sign-in-error');
    // The password is selected after a failure: typing replaces it.
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Start with a collection' }).waitFor();
  });

  test('the main navigation works with the keyboard alone', async () => {
    // From the top of a freshly loaded page: the skip link comes first.
    await page.reload();
    await page.getByRole('heading', { name: 'Start with a collection' }).waitFor();
    const first = await tabUntil(/Skip to content/, 1);
    assert.equal(first.focus.name, 'Skip to content');
    const { focus, seen } = await tabUntil(/^Settings$/);
    assert.ok(seen.includes('Collections'), `Collections comes before Settings: ${seen.join(' | ')}`);
    assert.notEqual(focus.outline, 'none');
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/settings\/application/);
    await page.getByRole('heading', { name: /Application/ }).waitFor();
    // Into the settings sections, then back to the collections.
    await tabUntil(/^Mail$/);
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/settings\/mail/);
    await page.getByRole('heading', { name: /Mail/ }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: /Mail/ }).waitFor();
    await tabUntil(/^Collections$/);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Start with a collection' }).waitFor();
  });

  test('a user record through the form', async () => {
    await page.getByRole('link', { name: 'users' }).first().click();
    await page.getByRole('button', { name: 'New record' }).first().click();
    const drawer = page.getByRole('dialog', { name: 'New users record' });
    await drawer.getByRole('textbox', { name: 'email', exact: true }).fill('alice@example.com');
    await drawer.getByRole('textbox', { name: 'Password', exact: true }).fill('AlicePass123');
    await drawer.getByRole('textbox', { name: 'Repeat the password' }).fill('AlicePass123');
    await drawer.getByRole('textbox', { name: 'name', exact: true }).fill('Alice');
    await drawer.getByRole('button', { name: 'Create', exact: true }).click();
    await drawer.waitFor({ state: 'detached' });
    await rows().filter({ hasText: 'alice@example.com' }).waitFor();
  });

  test('a collection with text, number, relation and file fields and a rule', async () => {
    await page.getByRole('button', { name: 'New collection' }).click();
    const drawer = page.getByRole('dialog', { name: 'New collection' });
    await drawer.getByLabel('Name', { exact: true }).fill('posts');
    const addField = async (typeLabel, name) => {
      await drawer.getByRole('button', { name: 'New field' }).click();
      await drawer.getByRole('group', { name: 'Type of the new field' }).getByRole('button', { name: typeLabel, exact: true }).click();
      // The new field's name input has the focus.
      await page.keyboard.type(name);
    };
    await addField('Plain text', 'title');
    await drawer.getByLabel('title is required').check();
    await addField('Number', 'views');
    await addField('Relation', 'author');
    await drawer.getByLabel('Related collection').selectOption({ label: 'users' });
    await addField('File', 'cover');
    await drawer.getByLabel('Allowed types').last().fill('image/png, image/jpeg');
    await shot(page, '04-collection-fields');

    await drawer.getByRole('tab', { name: 'API rules' }).click();
    const listRule = drawer.getByLabel('List and search rule');
    await drawer.locator('[data-rule="listRule"]').getByLabel('Superusers only').uncheck();
    await listRule.fill('views >>= 0');
    await drawer.getByRole('button', { name: 'Create', exact: true }).click();
    // The API's parse error under the rule, with a caret at its position.
    const ruleError = drawer.locator('[data-rule="listRule"] .error-text');
    await ruleError.filter({ hasText: /Invalid rule/ }).waitFor();
    await drawer.locator('[data-rule="listRule"] .caret').waitFor();
    assert.equal(await listRule.getAttribute('aria-invalid'), 'true');
    await shot(page, '05-rule-error');

    await listRule.fill('views >= 0');
    await drawer.locator('[data-rule="viewRule"]').getByLabel('Superusers only').uncheck();
    await drawer.getByRole('button', { name: 'Create', exact: true }).click();
    await drawer.waitFor({ state: 'detached' });
    await page.getByRole('heading', { name: /posts/ }).waitFor();

    const token = await superuserToken();
    const res = await fetch(`${server.url}/api/collections/posts`, { headers: { Authorization: token } });
    const posts = await res.json();
    assert.deepEqual(posts.fields.map((f) => f.name), ['id', 'title', 'views', 'author', 'cover', 'created', 'updated']);
    assert.equal(posts.listRule, 'views >= 0');
    assert.equal(posts.viewRule, '');
    assert.equal(posts.createRule, null);
  });

  test('records through the forms: relation picker with search, file upload', async () => {
    await page.getByRole('button', { name: 'New record' }).first().click();
    let drawer = page.getByRole('dialog', { name: 'New posts record' });
    await drawer.getByRole('textbox', { name: 'title' }).fill('Hello world');
    await drawer.getByRole('spinbutton', { name: 'views' }).fill('10');
    await drawer.getByRole('button', { name: 'Choose a record' }).click();
    const picker = page.getByRole('dialog', { name: 'Choose from users' });
    await picker.getByRole('searchbox').fill('alice');
    await picker.getByRole('radio', { name: /Alice/ }).check();
    await picker.getByRole('button', { name: 'Use selection' }).click();
    await drawer.locator('.chip').filter({ hasText: 'Alice' }).waitFor();
    await drawer.locator('input[type=file]').setInputFiles({ name: 'cover.png', mimeType: 'image/png', buffer: PNG });
    await drawer.getByText(/cover\.png .*new/).waitFor();
    await shot(page, '06-record-form');
    await drawer.getByRole('button', { name: 'Create', exact: true }).click();
    await drawer.waitFor({ state: 'detached' });
    const row = rows().filter({ hasText: 'Hello world' });
    await row.waitFor();
    await row.locator('.chip').filter({ hasText: 'Alice' }).waitFor();
    // The uploaded image shows as a thumbnail served by /api/files.
    const thumb = row.locator('img.thumb');
    await thumb.waitFor();
    await page.waitForFunction((img) => img.complete && img.naturalWidth > 0, await thumb.elementHandle());

    await page.getByRole('button', { name: 'New record' }).first().click();
    drawer = page.getByRole('dialog', { name: 'New posts record' });
    await drawer.getByRole('button', { name: 'Create', exact: true }).click();
    // A required field left empty: the API's message under it.
    await drawer.locator('[data-field="title"] .error-text').filter({ hasText: /blank|required/i }).waitFor();
    await drawer.getByRole('textbox', { name: 'title' }).fill('Second post');
    await drawer.getByRole('spinbutton', { name: 'views' }).fill('3');
    await drawer.getByRole('button', { name: 'Create', exact: true }).click();
    await drawer.waitFor({ state: 'detached' });
    await rows().filter({ hasText: 'Second post' }).waitFor();
    await shot(page, '07-records');
  });

  test('filter, search and sort the table', async () => {
    await search('views > 5');
    await page.waitForFunction(() => document.querySelectorAll('table.records tbody tr').length === 1);
    await rows().filter({ hasText: 'Hello world' }).waitFor();
    await shot(page, '08-records-filtered');
    await search('second');
    await rows().filter({ hasText: 'Second post' }).waitFor();
    assert.equal(await rows().count(), 1);
    await search('views >>> 1');
    await page.getByText(/The API refused this filter/).waitFor();
    await search('');
    await page.waitForFunction(() => document.querySelectorAll('table.records tbody tr').length === 2);

    // The header says how the table is sorted once the sorted page has arrived.
    const sortedBy = (dir) => page.waitForFunction(
      (d) => document.querySelector(`table.records th[aria-sort="${d}"]`)?.textContent.includes('views'), dir);
    const firstTitle = () => rows().first().locator('td').nth(2).textContent();
    const viewsHeader = page.getByRole('columnheader', { name: /views/ });
    await viewsHeader.getByRole('button').click();
    await sortedBy('ascending');
    assert.equal(await firstTitle(), 'Second post');
    await viewsHeader.getByRole('button').click();
    await sortedBy('descending');
    assert.equal(await firstTitle(), 'Hello world');
  });

  test('edit a record', async () => {
    await rows().filter({ hasText: 'Hello world' }).locator('td').nth(2).click();
    const drawer = page.getByRole('dialog', { name: 'Edit posts record' });
    await drawer.getByRole('textbox', { name: 'title' }).fill('Hello again');
    await drawer.getByRole('button', { name: 'Save changes' }).click();
    await drawer.waitFor({ state: 'detached' });
    await rows().filter({ hasText: 'Hello again' }).waitFor();
    assert.equal(await rows().filter({ hasText: 'Hello world' }).count(), 0);
  });

  test('changes made elsewhere appear live', async () => {
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    const token = await superuserToken();
    const res = await fetch(`${server.url}/api/collections/posts/records`, {
      method: 'POST',
      headers: { Authorization: token, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'From elsewhere', views: 7 }),
    });
    assert.equal(res.status, 200);
    await rows().filter({ hasText: 'From elsewhere' }).waitFor();
    await shot(page, '09-live');
  });

  test('delete with confirmation, then bulk delete', async () => {
    await rows().filter({ hasText: 'Second post' }).locator('td').nth(2).click();
    const drawer = page.getByRole('dialog', { name: 'Edit posts record' });
    await drawer.getByRole('button', { name: 'Delete' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete this record?' });
    await confirm.getByRole('button', { name: 'Delete record' }).click();
    await drawer.waitFor({ state: 'detached' });
    await page.waitForFunction(() => !document.querySelector('table.records')?.textContent.includes('Second post'));

    await page.getByRole('checkbox', { name: 'Select all records on this page' }).check();
    await page.getByText('2 selected').waitFor();
    await page.getByRole('button', { name: 'Delete selected' }).click();
    await page.getByRole('dialog', { name: 'Delete 2 records?' }).getByRole('button', { name: 'Delete 2 records' }).click();
    await page.getByText('No records yet.').waitFor();
  });

  test('settings: application name, and the test mail button answers', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByLabel('Application name').fill('Blog');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.locator('.topbar .app-name').filter({ hasText: 'Blog' }).waitFor();
    await page.getByLabel('Application URL').fill('not a url');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.locator('.error-text').filter({ hasText: /valid URL/ }).waitFor();
    await shot(page, '10-settings-error');

    await page.getByRole('link', { name: 'Mail' }).click();
    await page.getByLabel('Send to').fill('someone@example.com');
    await page.getByRole('button', { name: 'Send test mail' }).click();
    // SMTP is not set up here, so the server's own reason comes back.
    await page.getByText(/The test mail failed: Failed to send the test email/).waitFor();
    await shot(page, '11-settings-mail');
  });

  test('a view collection is created from its SQL', async () => {
    await page.getByRole('link', { name: 'Collections' }).first().click();
    await page.getByRole('button', { name: 'New collection' }).click();
    const drawer = page.getByRole('dialog', { name: 'New collection' });
    await drawer.getByLabel('Name', { exact: true }).fill('post_titles');
    await drawer.getByRole('radio', { name: /View/ }).check();
    await drawer.getByRole('textbox', { name: 'SQL query' }).fill('SELECT id, title FROM posts');
    // The preview runs the unsaved query through the API's dry run.
    await drawer.getByRole('button', { name: 'Preview rows' }).click();
    await drawer.getByText(/Fields: .*title \(text\)/).waitFor();
    await drawer.getByRole('textbox', { name: 'SQL query' }).fill('SELECT title FROM posts');
    await drawer.getByRole('button', { name: 'Preview rows' }).click();
    await drawer.getByText(/missing required id column/).waitFor();
    await drawer.getByRole('textbox', { name: 'SQL query' }).fill('SELECT id, title FROM posts');
    await drawer.getByRole('button', { name: 'Create', exact: true }).click();
    await drawer.waitFor({ state: 'detached' });
    await shot(page, '12-view-collection');
    const res = await fetch(`${server.url}/api/collections/post_titles`, { headers: { Authorization: await superuserToken() } });
    const views = await res.json();
    assert.equal(views.type, 'view');
    assert.deepEqual(views.fields.map((f) => f.name), ['id', 'title']);
  });

  test('rich text: stored markup is shown without running, the toolbar formats, HTML is saved', async () => {
    const token = await superuserToken();
    const call = (method, url, body) => fetch(`${server.url}${url}`, {
      method, headers: { Authorization: token, 'content-type': 'application/json' }, body: JSON.stringify(body),
    }).then((r) => r.json());
    await call('POST', '/api/collections', {
      name: 'notes', type: 'base', listRule: '', viewRule: '',
      fields: [{ name: 'body', type: 'editor' }],
    });
    // Markup any API caller could have saved, with a script hidden in an image.
    const note = await call('POST', '/api/collections/notes/records', {
      body: '<p>Hello <img src="x" onerror="window.__xss = 1"><script>window.__xss = 2</script>there</p>',
    });
    // The collection was made behind the dashboard's back: load it afresh.
    await page.goto(`${server.url}/_/#/collections/notes`);
    await page.reload();
    await rows().filter({ hasText: 'Hello' }).first().click();
    const drawer = page.getByRole('dialog', { name: /notes record/ });
    const area = drawer.getByRole('textbox', { name: 'body' });
    await area.waitFor();
    assert.equal(await area.evaluate((el) => el.innerHTML), '<p>Hello there</p>');
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    await area.click();
    await page.keyboard.press('End');
    await drawer.getByRole('button', { name: 'Bold' }).click();
    await page.keyboard.type(' and bold');
    await drawer.getByRole('button', { name: 'Save changes' }).click();
    await drawer.waitFor({ state: 'detached' });
    const saved = await call('GET', `/api/collections/notes/records/${note.id}`);
    assert.match(saved.body, /^<p>Hello there<(b|strong)>(\s|&nbsp;)and bold<\/(b|strong)><\/p>$/);
    assert.doesNotMatch(saved.body, /onerror|script/);
  });

  test('phone width: the table scrolls, the navigation folds into a menu', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${server.url}/_/#/collections/users`);
    await rows().filter({ hasText: 'alice@example.com' }).waitFor();
    assert.equal(await page.locator('#sidebar').isVisible(), false);
    await shot(page, '13-phone-records');
    await page.getByRole('button', { name: 'Show navigation' }).click();
    await page.getByRole('link', { name: 'posts' }).waitFor();
    await shot(page, '14-phone-navigation');
    await page.getByRole('link', { name: 'posts' }).click();
    await page.getByRole('heading', { name: /posts/ }).waitFor();
    assert.equal(await page.locator('#sidebar').isVisible(), false);
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  test('no script errors on any page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
