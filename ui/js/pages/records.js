// A collection's records: the table (paging, sorting by column, search and filter), selection
// with bulk delete, and live updates through the realtime API.

import { api, recordsPath } from '../api.js';
import { debounce, h, icon, mount, nextId } from '../dom.js';
import { cellFor, columnFields, exampleFilter, searchFilter, typeGlyph } from '../fields.js';
import * as realtime from '../realtime.js';
import { store } from '../state.js';
import { confirmDialog, errorSlot, toast } from '../ui.js';
import { openCollectionEditor } from './collection-editor.js';
import { openRecordEditor } from './record-editor.js';

const PER_PAGE_CHOICES = [10, 30, 50, 100, 500];
const UNSORTABLE = new Set(['file', 'json', 'geoPoint', 'password']);

/** `/collections`: the first collection, or a welcome for a fresh install. */
export function collectionsIndexPage(root, { navigate, openEditor }) {
  const own = store.collections.filter((c) => !c.system && c.name !== 'users');
  if (own.length) {
    navigate(`/collections/${encodeURIComponent(own[0].name)}`, { replace: true });
    return null;
  }
  root.append(
    h('div', { class: 'page-head' }, h('h1', { text: 'Collections' })),
    h('div', { class: 'empty-state' },
      h('h2', { text: 'Start with a collection' }),
      h('p', { text: 'A collection is a table with typed fields and access rules; its records are served at /api/collections/NAME/records.' }),
      h('p', {}, 'Signing up and signing in work already through the ', h('a', { href: '#/collections/users', text: 'users' }), ' collection.'),
      store.hideControls ? null : h('button', { type: 'button', class: 'btn primary', onclick: openEditor }, icon('plus'), 'New collection')));
  return null;
}

export function recordsPage(root, { name, query, path, navigate, replaceQuery }) {
  const collection = store.byName(name);
  if (!collection) {
    root.append(h('div', { class: 'empty-state' },
      h('h1', { text: 'Collection not found' }),
      h('p', {}, `There is no collection named “${name}”. `, h('a', { href: '#/collections', text: 'See the collections' }), '.')));
    return null;
  }
  const fields = columnFields(collection);
  const hasCreated = fields.some((f) => f.name === 'created');
  const readOnly = collection.type === 'view';
  const state = {
    page: Math.max(1, Number(query.get('page')) || 1),
    perPage: PER_PAGE_CHOICES.includes(Number(query.get('perPage'))) ? Number(query.get('perPage')) : 30,
    sort: query.has('sort') ? query.get('sort') : hasCreated ? '-created' : '',
    search: query.get('filter') || '',
    total: 0,
    totalPages: 1,
    items: [],
  };
  const selected = new Set();
  const flash = new Set();
  let seq = 0;
  let disposed = false;

  // ---- header
  const live = h('span', { class: 'badge', hidden: true, role: 'status' });
  const editBtn = store.hideControls ? null : h('button', {
    type: 'button', class: 'btn', onclick: async () => {
      const saved = await openCollectionEditor(collection);
      await store.loadCollections();
      if (saved === 'deleted') navigate('/collections');
      else if (saved) navigate(`/collections/${encodeURIComponent(saved.name)}`, { replace: true });
    },
  }, icon('sliders'), 'Edit collection');
  const refreshBtn = h('button', { type: 'button', class: 'btn', onclick: () => load() }, icon('refresh'), 'Refresh');
  const newBtn = readOnly ? null : h('button', { type: 'button', class: 'btn primary', onclick: () => edit(null) }, icon('plus'), 'New record');
  const head = h('div', { class: 'page-head' },
    h('h1', {}, h('span', { class: 'crumb', text: 'Collections /' }), h('span', { text: collection.name }),
      h('span', { class: ['badge', collection.type === 'auth' ? 'accent' : ''], text: collection.type })),
    live,
    h('div', { class: 'actions' }, editBtn, refreshBtn, newBtn));

  // ---- search / filter
  const searchId = nextId('search');
  const hintId = nextId('search-hint');
  const search = h('input', {
    type: 'search', id: searchId, value: state.search, autocomplete: 'off', spellcheck: false,
    placeholder: `Search, or filter like ${exampleFilter(collection)}`, 'aria-describedby': hintId,
  });
  const filterError = errorSlot(search);
  const applySearch = () => {
    if (search.value === state.search) return;
    state.search = search.value;
    state.page = 1;
    load();
  };
  const debounced = debounce(applySearch, 450);
  search.addEventListener('input', debounced);
  const searchForm = h('form', {
    class: 'searchbox', role: 'search', onsubmit: (e) => { e.preventDefault(); debounced.cancel(); applySearch(); },
  },
  h('label', { for: searchId, class: 'sr-only', text: `Search or filter ${collection.name}` }),
  icon('search'), search,
  h('p', { class: 'hint', id: hintId }, 'Words search the text fields; an expression filters with the API\'s filter language. Enter applies.'),
  filterError.el);

  // ---- bulk bar
  const bulkCount = h('strong');
  const bulk = h('div', { class: 'bulkbar', hidden: true, role: 'region', 'aria-label': 'Selected records' },
    bulkCount,
    h('button', { type: 'button', class: 'btn small', text: 'Clear selection', onclick: () => { selected.clear(); renderTable(); } }),
    h('span', { class: 'spacer' }),
    h('button', { type: 'button', class: 'btn small danger', onclick: deleteSelected }, icon('trash'), 'Delete selected'));

  // ---- table and pager
  const tableWrap = h('div', { class: 'table-wrap' });
  const pager = h('div', { class: 'pager', role: 'navigation', 'aria-label': 'Pages' });
  const alert = h('div', { class: 'alert', role: 'alert' });

  root.append(head, h('div', { class: 'toolbar' }, searchForm), alert, bulk, tableWrap, pager);

  function syncUrl() {
    replaceQuery(path, {
      filter: state.search,
      sort: state.sort === (hasCreated ? '-created' : '') ? '' : state.sort,
      page: state.page > 1 ? state.page : '',
      perPage: state.perPage !== 30 ? state.perPage : '',
    });
  }

  async function load() {
    const mySeq = ++seq;
    syncUrl();
    tableWrap.setAttribute('aria-busy', 'true');
    const expand = fields.filter((f) => f.type === 'relation' && store.byIdOrName(f.collectionId)).map((f) => f.name).join(',');
    try {
      const res = await api('GET', recordsPath(collection.name), {
        query: { page: state.page, perPage: state.perPage, sort: state.sort, filter: searchFilter(collection, state.search), expand },
      });
      if (mySeq !== seq || disposed) return;
      filterError.clear();
      alert.textContent = '';
      state.items = res.items || [];
      state.total = res.totalItems || 0;
      state.totalPages = Math.max(1, res.totalPages || 1);
      if (state.page > state.totalPages && state.total > 0) {
        state.page = state.totalPages;
        load();
        return;
      }
      renderTable();
    } catch (err) {
      if (mySeq !== seq || disposed) return;
      if (state.search && err.status === 400) {
        filterError.show(`The API refused this filter: ${err.message}`);
      } else {
        alert.textContent = err.message;
      }
      state.items = [];
      state.total = 0;
      renderTable();
    } finally {
      if (mySeq === seq) tableWrap.removeAttribute('aria-busy');
    }
  }

  function sortState(fname) {
    if (state.sort === fname) return 'ascending';
    if (state.sort === `-${fname}`) return 'descending';
    return null;
  }

  function renderTable() {
    const allOnPage = state.items.length > 0 && state.items.every((r) => selected.has(r.id));
    const selectAll = h('input', {
      type: 'checkbox', 'aria-label': 'Select all records on this page', checked: allOnPage,
      indeterminate: !allOnPage && state.items.some((r) => selected.has(r.id)),
      onchange: (e) => {
        for (const r of state.items) {
          if (e.target.checked) selected.add(r.id);
          else selected.delete(r.id);
        }
        renderTable();
      },
    });
    const headRow = h('tr', {}, readOnly ? null : h('th', { class: 'check-cell', scope: 'col' }, selectAll),
      fields.map((f) => {
        const sorted = sortState(f.name);
        const th = h('th', { scope: 'col', 'aria-sort': sorted || (UNSORTABLE.has(f.type) ? null : 'none') });
        if (UNSORTABLE.has(f.type)) {
          th.append(h('span', { class: 'sort-btn' }, typeGlyph(f.type), f.name));
        } else {
          th.append(h('button', {
            type: 'button', class: 'sort-btn',
            onclick: () => {
              state.sort = sorted === 'ascending' ? `-${f.name}` : f.name;
              state.page = 1;
              load();
            },
          }, typeGlyph(f.type), f.name,
          sorted ? icon(sorted === 'ascending' ? 'arrowUp' : 'arrowDown') : null,
          h('span', { class: 'sr-only', text: sorted ? `, sorted ${sorted}` : ', sortable' })));
        }
        return th;
      }));
    const rows = state.items.map((rec) => {
      const tr = h('tr', {
        'data-id': rec.id, class: [selected.has(rec.id) && 'selected', flash.has(rec.id) && 'flash'],
        onclick: (e) => {
          if (readOnly || e.target.closest('button, a, input, label')) return;
          edit(rec);
        },
      });
      if (!readOnly) {
        tr.append(h('td', { class: 'check-cell' }, h('input', {
          type: 'checkbox', 'aria-label': `Select record ${rec.id}`, checked: selected.has(rec.id),
          onchange: (e) => {
            if (e.target.checked) selected.add(rec.id);
            else selected.delete(rec.id);
            renderTable();
          },
        })));
      }
      for (const f of fields) {
        const td = h('td', { class: f.type === 'number' ? 'num' : null });
        if (f.name === 'id' && !readOnly) {
          td.append(h('button', { type: 'button', class: 'id-btn', 'aria-label': `Edit record ${rec.id}`, text: rec.id, onclick: () => edit(rec) }));
        } else {
          td.append(cellFor(f, rec, collection));
        }
        tr.append(td);
      }
      return tr;
    });
    flash.clear();
    const colspan = fields.length + (readOnly ? 0 : 1);
    if (!rows.length) {
      rows.push(h('tr', {}, h('td', { colspan },
        h('div', { class: 'empty-state' }, state.search
          ? [h('p', { text: 'No records match this search.' }),
            h('button', { type: 'button', class: 'btn', text: 'Clear the search', onclick: () => { search.value = ''; state.search = ''; state.page = 1; load(); search.focus(); } })]
          : [h('p', { text: readOnly ? 'This view has no rows.' : 'No records yet.' }),
            readOnly ? null : h('button', { type: 'button', class: 'btn primary', onclick: () => edit(null) }, icon('plus'), 'New record')]))));
    }
    const caption = h('caption', { class: 'sr-only', text: `Records of ${collection.name}, page ${state.page} of ${state.totalPages}, ${state.total} in all` });
    mount(tableWrap, h('table', { class: 'records' }, caption, h('thead', {}, headRow), h('tbody', {}, rows)));

    bulk.hidden = selected.size === 0;
    bulkCount.textContent = `${selected.size} selected`;
    renderPager();
  }

  function renderPager() {
    const from = state.total ? (state.page - 1) * state.perPage + 1 : 0;
    const to = Math.min(state.total, state.page * state.perPage);
    const perPageId = nextId('per-page');
    mount(pager, 
      h('span', { text: state.total ? `${from}–${to} of ${state.total}` : '0 records' }),
      h('span', { class: 'spacer' }),
      h('label', { for: perPageId, text: 'Per page' }),
      h('select', {
        id: perPageId,
        onchange: (e) => { state.perPage = Number(e.target.value); state.page = 1; load(); },
      }, PER_PAGE_CHOICES.map((n) => h('option', { value: n, text: n, selected: n === state.perPage }))),
      h('button', {
        type: 'button', class: 'btn small', disabled: state.page <= 1,
        onclick: () => { state.page -= 1; load().then(toTop); },
      }, icon('left'), 'Previous'),
      h('span', { text: `Page ${state.page} of ${state.totalPages}` }),
      h('button', {
        type: 'button', class: 'btn small', disabled: state.page >= state.totalPages,
        onclick: () => { state.page += 1; load().then(toTop); },
      }, 'Next', icon('right')));
  }

  /** A new page starts at its first row. */
  function toTop() {
    root.closest('main')?.scrollTo({ top: 0 });
  }

  async function edit(rec) {
    if (readOnly) return;
    const result = await openRecordEditor(collection, rec);
    if (result) {
      if (result !== 'deleted') flash.add(result.id);
      if (result === 'deleted' && rec) selected.delete(rec.id);
      load();
    }
  }

  async function deleteSelected() {
    const ids = [...selected];
    if (!ids.length) return;
    const ok = await confirmDialog({
      title: `Delete ${ids.length} ${ids.length === 1 ? 'record' : 'records'}?`,
      message: `The selected records of ${collection.name} will be deleted. This cannot be undone.`,
      confirmLabel: `Delete ${ids.length} ${ids.length === 1 ? 'record' : 'records'}`,
    });
    if (!ok) return;
    let failed = 0;
    for (let i = 0; i < ids.length; i += 5) {
      await Promise.all(ids.slice(i, i + 5).map((id) => api('DELETE', recordsPath(collection.name, id))
        .then(() => selected.delete(id))
        .catch(() => { failed += 1; })));
    }
    if (failed) toast(`${failed} of ${ids.length} records could not be deleted.`, 'error');
    else toast(`${ids.length} ${ids.length === 1 ? 'record' : 'records'} deleted.`);
    load();
  }

  // ---- live updates
  const reloadSoon = debounce(() => load(), 250);
  const unsubscribe = realtime.subscribe(`${collection.name}/*`, (msg) => {
    if (msg?.record?.id && msg.action !== 'delete') flash.add(msg.record.id);
    reloadSoon();
  });
  const unwatch = realtime.onStatus((s) => {
    live.hidden = s === 'off';
    live.className = `badge ${s === 'live' ? 'success' : 'warn'}`;
    mount(live, h('span', { class: 'live-dot', 'aria-hidden': 'true' }),
      s === 'live' ? 'Live' : s === 'connecting' ? 'Connecting…' : 'Reconnecting…');
    live.title = s === 'live' ? 'Changes made elsewhere appear here as they happen.' : '';
  });

  load();
  return () => {
    disposed = true;
    reloadSoon.cancel();
    debounced.cancel();
    unsubscribe();
    unwatch();
  };
}
