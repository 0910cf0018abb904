// Boot, the hash router and the signed-in shell (top bar, sidebar, main area).
// Routes live in the URL fragment, as in PocketBase's dashboard, so the links in its mail
// templates (/_/#/auth/...) and the install link (/_/#/install/TOKEN) keep tokens off the wire.

import { session, refreshSession, setSessionEndedHandler } from './api.js';
import { h, icon, logoMark, mount } from './dom.js';
import { store } from './state.js';
import { toast } from './ui.js';
import * as realtime from './realtime.js';
import { loginPage } from './pages/login.js';
import { installPage } from './pages/install.js';
import { authConfirmPage } from './pages/auth-confirm.js';
import { collectionsIndexPage, recordsPage } from './pages/records.js';
import { settingsPage, SETTINGS_SECTIONS } from './pages/settings.js';
import { openCollectionEditor } from './pages/collection-editor.js';

const app = document.getElementById('app');
let shell = null;
let cleanup = null;
let renderSeq = 0;
let firstRender = true;

/** '/collections/posts?page=2' from the fragment. */
export function currentRoute() {
  const raw = window.location.hash.replace(/^#/, '') || '/';
  const [path, search = ''] = raw.split('?');
  return { path: path || '/', query: new URLSearchParams(search) };
}

export function navigate(path, { replace = false } = {}) {
  const target = `#${path}`;
  if (window.location.hash === target) {
    render();
  } else if (replace) {
    window.history.replaceState(null, '', target);
    render();
  } else {
    window.location.hash = target;
  }
}

/** Rewrites the fragment's query without re-rendering (table state that survives a reload). */
export function replaceQuery(path, params) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== '' && v !== null && v !== undefined) qs.set(k, String(v));
  }
  const s = qs.toString();
  window.history.replaceState(null, '', `#${path}${s ? `?${s}` : ''}`);
}

const publicRoutes = [
  [/^\/install\/([^/]+)$/, installPage],
  [/^\/auth\/(confirm-password-reset|confirm-verification|confirm-email-change)\/([^/]+)$/, authConfirmPage],
];

async function render() {
  const seq = ++renderSeq;
  if (cleanup) {
    try { cleanup(); } catch { /* a page's cleanup must not stop navigation */ }
    cleanup = null;
  }
  const { path, query } = currentRoute();
  // A page may navigate while it is built (a redirect); then the newer render owns `cleanup`.
  const use = (result) => {
    if (seq !== renderSeq) {
      if (typeof result === 'function') result();
    } else {
      cleanup = typeof result === 'function' ? result : null;
    }
  };

  for (const [pattern, page] of publicRoutes) {
    const m = pattern.exec(path);
    if (m) {
      dropShell();
      use(page(mount(app), { params: m.slice(1).map(decodeURIComponent), query, navigate }));
      return;
    }
  }

  if (path === '/login') {
    if (session.valid) {
      navigate('/collections', { replace: true });
      return;
    }
    dropShell();
    use(loginPage(mount(app), { query, navigate, onSignedIn: afterSignIn }));
    return;
  }

  if (!session.valid) {
    session.clear();
    const back = path && path !== '/' ? `?next=${encodeURIComponent(path)}` : '';
    navigate(`/login${back}`, { replace: true });
    return;
  }

  if (!shell) {
    await ensureData();
    if (seq !== renderSeq) return;
    shell = buildShell();
    mount(app, shell.root);
  }

  const main = shell.main;
  let m;
  if (path === '/' || path === '/collections') {
    shell.setSection('collections');
    use(collectionsIndexPage(mount(main), { navigate, openEditor: newCollection }));
  } else if ((m = /^\/collections\/([^/]+)$/.exec(path))) {
    const name = decodeURIComponent(m[1]);
    shell.setSection('collections', name);
    use(recordsPage(mount(main), { name, query, path, navigate, replaceQuery }));
  } else if (path === '/settings') {
    navigate(`/settings/${SETTINGS_SECTIONS[0].id}`, { replace: true });
    return;
  } else if ((m = /^\/settings\/([a-z-]+)$/.exec(path))) {
    shell.setSection('settings', m[1]);
    use(settingsPage(mount(main), { section: m[1], navigate }));
  } else {
    shell.setSection('');
    mount(main, h('div', { class: 'empty-state' },
      h('h1', { text: 'Page not found' }),
      h('p', {}, 'Nothing lives at this address. ', h('a', { href: '#/collections', text: 'Go to the collections' }), '.')));
  }
  if (seq !== renderSeq) return;
  const title = main.querySelector('h1');
  document.title = `${title ? `${title.textContent} · ` : ''}${store.appName} · Motorbase`;
  // On the first load focus stays at the top (the skip link comes first). Later, after a click
  // in the navigation the focus stays there; when it was lost, start at the heading.
  const initial = firstRender;
  firstRender = false;
  if (!initial && (!document.activeElement || document.activeElement === document.body || !document.contains(document.activeElement))) {
    if (title) {
      title.tabIndex = -1;
      title.focus({ preventScroll: true });
    }
  }
}

function dropShell() {
  if (shell) shell.dispose();
  shell = null;
}

async function ensureData() {
  await Promise.all([
    store.loadCollections().catch((e) => toast(`Could not load the collections: ${e.message}`, 'error')),
    store.loadSettings(),
  ]);
}

function afterSignIn(next) {
  navigate(next && next.startsWith('/') && next !== '/login' ? next : '/collections', { replace: true });
}

export function signOut(message) {
  session.clear();
  realtime.disconnect();
  store.reset();
  dropShell();
  if (message) toast(message);
  navigate('/login');
}

async function newCollection() {
  const saved = await openCollectionEditor(null);
  if (saved) {
    await store.loadCollections();
    navigate(`/collections/${encodeURIComponent(saved.name)}`);
  }
}

function collectionIcon(c) {
  if (c.type === 'auth') return icon('users');
  if (c.type === 'view') return icon('eye');
  return icon('folder');
}

function buildShell() {
  const sidebar = h('aside', { class: 'sidebar', id: 'sidebar', 'aria-label': 'Section navigation' });
  const main = h('main', { id: 'main', tabIndex: -1 });
  const navToggle = h('button', {
    type: 'button', class: 'icon-btn nav-toggle', 'aria-label': 'Show navigation', 'aria-expanded': 'false', 'aria-controls': 'sidebar',
    onclick: () => setNavOpen(!root.classList.contains('nav-open')),
  }, icon('menu'));
  const appName = h('span', { class: 'app-name', text: store.appName });
  const navCollections = h('a', { href: '#/collections' }, icon('database'), h('span', { class: 'label', text: 'Collections' }));
  const navSettings = h('a', { href: '#/settings' }, icon('gear'), h('span', { class: 'label', text: 'Settings' }));
  const topbar = h('header', { class: 'topbar' },
    navToggle,
    h('a', { class: 'logo', href: '#/collections', 'aria-label': `${store.appName} dashboard home` },
      logoMark(), appName, h('span', { class: 'by', text: 'Motorbase' })),
    h('nav', { class: 'mainnav', 'aria-label': 'Main' }, navCollections, navSettings),
    h('div', { class: 'userbox' },
      h('span', { class: 'email', text: session.record?.email || '' }),
      h('button', { type: 'button', class: 'btn ghost small', onclick: () => signOut('You are signed out.') }, icon('logout'), 'Sign out')));
  const root = h('div', { class: 'shell' }, topbar, sidebar, main);

  let section = '';
  let active = '';
  let filterText = '';

  function setNavOpen(open) {
    root.classList.toggle('nav-open', open);
    navToggle.setAttribute('aria-expanded', open ? 'true' : 'false');
    navToggle.setAttribute('aria-label', open ? 'Hide navigation' : 'Show navigation');
  }

  function renderSidebar() {
    if (section === 'settings') {
      mount(sidebar,
        h('h2', { text: 'Settings' }),
        h('nav', { 'aria-label': 'Settings' },
          h('ul', { class: 'navlist' }, SETTINGS_SECTIONS.map((s) => h('li', {},
            h('a', { href: `#/settings/${s.id}`, 'aria-current': s.id === active ? 'page' : null }, icon(s.icon), h('span', { text: s.label })))))));
      return;
    }
    const search = h('input', {
      type: 'search', id: 'collection-search', placeholder: 'Search collections', value: filterText, autocomplete: 'off',
      oninput: (e) => { filterText = e.target.value; renderList(); },
    });
    const listBox = h('div');
    const renderList = () => {
      const q = filterText.trim().toLowerCase();
      const visible = store.collections.filter((c) => !q || c.name.toLowerCase().includes(q));
      const user = visible.filter((c) => !c.system);
      const system = visible.filter((c) => c.system);
      const item = (c) => h('li', {},
        h('a', { href: `#/collections/${encodeURIComponent(c.name)}`, 'aria-current': c.name === active ? 'page' : null, title: `${c.name} (${c.type})` },
          collectionIcon(c), h('span', { text: c.name })));
      mount(listBox,
        user.length ? h('ul', { class: 'navlist' }, user.map(item)) : h('p', { class: 'empty', text: q ? 'No collection matches.' : 'No collections yet.' }),
        system.length ? h('details', { open: system.some((c) => c.name === active) || !!q },
          h('summary', { text: 'System' }),
          h('ul', { class: 'navlist' }, system.map(item))) : null);
    };
    renderList();
    mount(sidebar,
      h('div', { class: 'field' }, h('label', { class: 'sr-only', for: 'collection-search', text: 'Search collections' }), search),
      h('nav', { 'aria-label': 'Collections' }, h('h2', { text: 'Collections' }), listBox),
      store.hideControls ? null : h('button', { type: 'button', class: 'btn block', onclick: newCollection }, icon('plus'), 'New collection'));
  }

  const unwatch = store.watch(() => {
    appName.textContent = store.appName;
    renderSidebar();
  });

  return {
    root,
    main,
    dispose: unwatch,
    setSection(next, current = '') {
      section = next;
      active = current;
      navCollections.setAttribute('aria-current', next === 'collections' ? 'page' : 'false');
      navSettings.setAttribute('aria-current', next === 'settings' ? 'page' : 'false');
      setNavOpen(false);
      renderSidebar();
    },
  };
}

function boot() {
  // A path below /_/ (a bookmarked or typed client route) becomes the same route in the fragment.
  const below = window.location.pathname.replace(/^\/_\/?/, '');
  if (below && below !== 'index.html') {
    window.location.replace(`/_/#/${below}${window.location.search}`);
    return;
  }
  session.load();
  setSessionEndedHandler(() => signOut('Your session has ended. Sign in again.'));
  document.querySelector('[data-skip]')?.addEventListener('click', (e) => {
    e.preventDefault();
    const target = document.getElementById('main') || app.querySelector('h1, input');
    if (target) {
      if (target.tabIndex < 0 && !target.matches('input')) target.tabIndex = -1;
      target.focus();
    }
  });
  window.addEventListener('hashchange', () => render());
  if (session.valid) {
    // Renew the token quietly; a revoked one ends the session through the 401 handler.
    refreshSession().catch(() => {});
  }
  render();
}

boot();
