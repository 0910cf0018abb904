// The field types, in one place: their names and marks, the options the collection editor
// shows for each, how a value looks in the records table, and the form control that edits it.

import { api, fileUrl, filterString, recordsPath } from './api.js';
import { formatBytes, formatDate, h, icon, isImageName, mount, nextId, stripHtml, truncate } from './dom.js';
import { richText } from './richtext.js';
import { store } from './state.js';
import { checkbox, errorSlot, openDialog } from './ui.js';

export const FIELD_TYPES = [
  { type: 'text', label: 'Plain text', glyph: 'T' },
  { type: 'editor', label: 'Rich text', glyph: '¶' },
  { type: 'number', label: 'Number', glyph: '#' },
  { type: 'bool', label: 'Bool', glyph: '✓' },
  { type: 'email', label: 'Email', glyph: '@' },
  { type: 'url', label: 'URL', glyph: '↗' },
  { type: 'date', label: 'Date', glyph: '▦' },
  { type: 'autodate', label: 'Autodate', glyph: '◷' },
  { type: 'select', label: 'Select', glyph: '☰' },
  { type: 'file', label: 'File', glyph: 'F' },
  { type: 'relation', label: 'Relation', glyph: '⇄' },
  { type: 'json', label: 'JSON', glyph: '{}' },
  { type: 'geoPoint', label: 'Geo point', glyph: '◎' },
  { type: 'password', label: 'Password', glyph: '**' },
];

export function typeInfo(type) {
  return FIELD_TYPES.find((t) => t.type === type) || { type, label: type, glyph: '?' };
}

export function typeGlyph(type) {
  const t = typeInfo(type);
  return h('span', { class: 'type-glyph', title: t.label, 'aria-hidden': 'true', text: t.glyph });
}

/** A new field's options, as the API stores them. */
export function newField(type, name = '') {
  const options = {
    text: { autogeneratePattern: '', max: 0, min: 0, pattern: '', primaryKey: false },
    number: { max: null, min: null, onlyInt: false },
    email: { exceptDomains: [], onlyDomains: [] },
    url: { exceptDomains: [], onlyDomains: [] },
    editor: { convertURLs: false, maxSize: 0 },
    date: { max: '', min: '' },
    autodate: { onCreate: true, onUpdate: false },
    select: { maxSelect: 1, values: [] },
    file: { maxSelect: 1, maxSize: 0, mimeTypes: [], protected: false, thumbs: [] },
    relation: { cascadeDelete: false, collectionId: '', maxSelect: 1, minSelect: 0 },
    json: { maxSize: 0 },
    password: { cost: 0, max: 0, min: 8, pattern: '' },
  }[type] || {};
  const base = { id: '', name, type, system: false, hidden: false, presentable: false };
  if (type !== 'autodate') Object.assign(base, { required: false, help: '' });
  return { ...base, ...structuredClone(options) };
}

/** Select, relation and file fields hold a list when maxSelect is above one. */
export function isMulti(field) {
  return ['select', 'relation', 'file'].includes(field.type) && Number(field.maxSelect) > 1;
}

/** Fields a superuser sees as table columns. */
export function columnFields(collection) {
  return (collection.fields || []).filter((f) => f.type !== 'password' && !(collection.type === 'auth' && f.name === 'tokenKey'));
}

/** What names a record in a picker or a relation chip: its presentable fields, else a likely one. */
export function recordLabel(collection, record) {
  if (!record) return '';
  const fields = collection?.fields || [];
  let keys = fields.filter((f) => f.presentable).map((f) => f.name);
  if (!keys.length) {
    keys = ['name', 'title', 'label', 'username', 'email', 'slug', 'heading'].filter((k) => fields.some((f) => f.name === k));
  }
  const parts = keys.map((k) => record[k]).filter((v) => v !== '' && v !== null && v !== undefined)
    .map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v)));
  return parts.length ? truncate(parts.join(' · '), 60) : record.id;
}

const SEARCHABLE = new Set(['text', 'email', 'url', 'editor', 'select']);

/**
 * The search box: text that already looks like a filter is used as one; anything else becomes
 * "any searchable field contains this text".
 */
export function searchFilter(collection, text) {
  const q = text.trim();
  if (!q) return '';
  if (/(\|\||&&|!=|!~|>=|<=|[=~<>?])/.test(q) || /^\(.*\)$/.test(q)) return q;
  const names = ['id', ...(collection.fields || [])
    .filter((f) => SEARCHABLE.has(f.type) && f.name !== 'id' && f.name !== 'tokenKey')
    .map((f) => f.name)];
  return names.map((n) => `${n} ~ ${filterString(q)}`).join(' || ');
}

/** A filter that makes sense for this collection, to show in the search box. */
export function exampleFilter(collection) {
  const fields = collection.fields || [];
  const text = fields.find((f) => ['text', 'email'].includes(f.type) && f.name !== 'id' && !f.hidden);
  const num = fields.find((f) => f.type === 'number');
  const date = fields.find((f) => f.type === 'autodate' || f.type === 'date');
  const parts = [];
  if (num) parts.push(`${num.name} > 10`);
  if (text) parts.push(`${text.name} ~ "hello"`);
  if (!parts.length && date) parts.push(`${date.name} > "2024-01-01"`);
  if (!parts.length) parts.push('id ~ "abc"');
  return parts.join(' && ');
}

// ---------------------------------------------------------------- table cells

export function cellFor(field, record, collection) {
  const v = record[field.name];
  const empty = () => h('span', { class: 'empty-cell', 'aria-label': 'empty', text: '—' });
  switch (field.type) {
    case 'bool':
      return h('span', { class: ['badge', v ? 'success' : ''], text: v ? 'True' : 'False' });
    case 'number':
      return h('span', { text: String(v ?? 0) });
    case 'date':
    case 'autodate':
      return v ? h('span', { class: 'nowrap', text: formatDate(v) }) : empty();
    case 'editor':
      return v ? h('span', { class: 'cell-text', text: truncate(stripHtml(v), 90) }) : empty();
    case 'select': {
      const values = Array.isArray(v) ? v : v ? [v] : [];
      return values.length ? h('ul', { class: 'chips' }, values.map((x) => h('li', { class: 'chip' }, h('span', { text: x })))) : empty();
    }
    case 'relation': {
      const ids = Array.isArray(v) ? v : v ? [v] : [];
      if (!ids.length) return empty();
      const target = store.byIdOrName(field.collectionId);
      const expanded = record.expand?.[field.name];
      const list = Array.isArray(expanded) ? expanded : expanded ? [expanded] : [];
      return h('ul', { class: 'chips' }, ids.map((id) => {
        const rec = list.find((r) => r.id === id);
        return h('li', { class: 'chip', title: id }, h('span', { text: rec ? recordLabel(target, rec) : id }));
      }));
    }
    case 'file': {
      const names = Array.isArray(v) ? v : v ? [v] : [];
      if (!names.length) return empty();
      return h('ul', { class: 'chips' }, names.slice(0, 4).map((name) => (isImageName(name) && !field.protected
        ? h('li', {}, h('img', { class: 'thumb', alt: name, loading: 'lazy', src: fileUrl(collection, record, name, { thumb: '100x100' }) }))
        : h('li', { class: 'chip', title: name }, icon('file'), h('span', { text: truncate(name, 24) })))),
      names.length > 4 ? h('li', { class: 'chip', text: `+${names.length - 4}` }) : null);
    }
    case 'json':
      return v === null || v === undefined ? empty() : h('span', { class: 'cell-text json-cell', text: truncate(JSON.stringify(v), 80) });
    case 'geoPoint':
      return v && (v.lon || v.lat) ? h('span', { class: 'nowrap', text: `${v.lat}, ${v.lon}` }) : empty();
    default:
      return v === '' || v === null || v === undefined ? empty() : h('span', { class: 'cell-text', text: truncate(String(v), 90) });
  }
}

// ---------------------------------------------------------------- collection editor options

/** Builds the option controls of `field` (edited in place); `reg(key, slot)` collects error slots. */
export function optionControls(field, collection, reg) {
  const num = (key, label, { nullable = false, hint, min } = {}) => {
    const input = h('input', {
      type: 'number', step: 'any', min, value: field[key] === null || field[key] === undefined ? '' : field[key],
      oninput: (e) => {
        const raw = e.target.value;
        field[key] = raw === '' ? (nullable ? null : 0) : Number(raw);
      },
    });
    return control(key, label, input, hint);
  };
  const text = (key, label, { hint, mono = false, placeholder } = {}) => control(key, label, h('input', {
    type: 'text', class: mono ? 'code' : null, value: field[key] ?? '', placeholder, spellcheck: false,
    oninput: (e) => { field[key] = e.target.value; },
  }), hint);
  const list = (key, label, { hint, placeholder } = {}) => control(key, label, h('input', {
    type: 'text', value: (field[key] || []).join(', '), placeholder, spellcheck: false,
    oninput: (e) => { field[key] = e.target.value.split(',').map((s) => s.trim()).filter(Boolean); },
  }), hint || 'Separate with commas.');
  const flag = (key, label) => {
    const c = checkbox(label, field[key], (v) => { field[key] = v; });
    const slot = errorSlot(c.input);
    reg(key, slot);
    return h('div', { class: 'field' }, c.el, slot.el);
  };
  function control(key, label, input, hint) {
    const id = nextId('opt');
    input.id = id;
    const slot = errorSlot(input);
    reg(key, slot);
    return h('div', { class: 'field' }, h('label', { for: id, text: label }), input,
      hint ? h('p', { class: 'hint', text: hint }) : null, slot.el);
  }

  const parts = [];
  switch (field.type) {
    case 'text':
      parts.push(num('min', 'Min length', { min: 0 }), num('max', 'Max length', { min: 0, hint: '0 means no limit.' }),
        text('pattern', 'Regex pattern', { mono: true, placeholder: '^[a-z0-9-]+$' }),
        text('autogeneratePattern', 'Autogenerate pattern', { mono: true, placeholder: '[a-z0-9]{15}', hint: 'Fills empty values on create.' }));
      break;
    case 'number':
      parts.push(num('min', 'Min', { nullable: true }), num('max', 'Max', { nullable: true }), flag('onlyInt', 'Integers only'));
      break;
    case 'email':
    case 'url':
      parts.push(list('onlyDomains', 'Only domains', { placeholder: 'example.com' }), list('exceptDomains', 'Except domains'));
      break;
    case 'editor':
      parts.push(num('maxSize', 'Max size (bytes)', { min: 0, hint: '0 uses the default.' }), flag('convertURLs', 'Convert URLs to relative'));
      break;
    case 'date':
      parts.push(text('min', 'Min date', { placeholder: '2024-01-01 00:00:00.000Z' }), text('max', 'Max date', { placeholder: '2030-12-31 23:59:59.000Z' }));
      break;
    case 'autodate':
      parts.push(flag('onCreate', 'Set on create'), flag('onUpdate', 'Set on update'));
      break;
    case 'select':
      parts.push(list('values', 'Choices', { placeholder: 'draft, published', hint: 'Separate the choices with commas.' }),
        num('maxSelect', 'Max selected', { min: 1, hint: '1 for a single choice.' }));
      break;
    case 'relation': {
      const sel = h('select', { onchange: (e) => { field.collectionId = e.target.value; } },
        h('option', { value: '', text: 'Choose a collection…' }),
        store.collections.map((c) => h('option', {
          value: c.id, text: c.name, selected: c.id === field.collectionId || c.name === field.collectionId,
        })));
      parts.push(control('collectionId', 'Related collection', sel),
        num('maxSelect', 'Max selected', { min: 1, hint: '1 for a single record.' }),
        num('minSelect', 'Min selected', { min: 0 }),
        flag('cascadeDelete', 'Delete this record when the related one is deleted'));
      break;
    }
    case 'file':
      parts.push(num('maxSelect', 'Max files', { min: 1 }),
        num('maxSize', 'Max size per file (bytes)', { min: 0, hint: field.maxSize ? formatBytes(field.maxSize) : '0 uses the default (5 MB).' }),
        list('mimeTypes', 'Allowed types', { placeholder: 'image/png, image/jpeg', hint: 'MIME types, separated by commas; empty allows any.' }),
        list('thumbs', 'Thumb sizes', { placeholder: '100x100, 0x300', hint: 'WxH sizes the API may generate.' }),
        flag('protected', 'Protected (needs a file token)'));
      break;
    case 'json':
      parts.push(num('maxSize', 'Max size (bytes)', { min: 0, hint: '0 uses the default.' }));
      break;
    case 'password':
      parts.push(num('min', 'Min length', { min: 0 }), num('max', 'Max length', { min: 0 }),
        text('pattern', 'Regex pattern', { mono: true }), num('cost', 'Bcrypt cost', { min: 0, hint: '0 uses the default.' }));
      break;
    default:
      break;
  }
  const common = [];
  if (field.type !== 'autodate') common.push(text('help', 'Help text', { hint: 'Shown under the input in the record form.' }));
  common.push(flag('hidden', 'Hidden from API clients (superusers still see it)'), flag('presentable', 'Presentable (names the record in relation pickers)'));
  return h('div', { class: 'stack' },
    parts.length ? h('div', { class: 'field-row' }, parts) : h('p', { class: 'hint', text: 'This type has no options of its own.' }),
    h('div', { class: 'field-row' }, common));
}

// ---------------------------------------------------------------- record form controls

/** Dates: the API's "YYYY-MM-DD HH:MM:SS.sssZ" <-> datetime-local's "YYYY-MM-DDTHH:MM:SS". */
function toLocalInput(value) {
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(:\d{2})?)/.exec(value || '');
  return m ? `${m[1]}T${m[2].length === 5 ? `${m[2]}:00` : m[2]}` : '';
}
function fromLocalInput(value) {
  if (!value) return '';
  const [d, t = '00:00:00'] = value.split('T');
  return `${d} ${t.length === 5 ? `${t}:00` : t.slice(0, 8)}.000Z`;
}

/**
 * The control for one field. Returns {el, focus(), error, value(), validate(), files()} where
 * value() is what goes into the JSON body and files() lists [key, File] pairs for multipart.
 */
export function inputFor(field, record, collection, ctx = {}) {
  const id = nextId(`rec-${field.name}`);
  const current = record ? record[field.name] : undefined;
  const hintText = field.help || '';
  let control;
  let value = () => undefined;
  let files = () => [];
  let validate = () => '';
  let focusTarget;
  let labelFor = id;

  switch (field.type) {
    case 'bool': {
      const input = h('input', { type: 'checkbox', id, checked: !!current });
      control = h('label', { class: 'check' }, input, field.name);
      value = () => input.checked;
      focusTarget = input;
      labelFor = null;
      break;
    }
    case 'number': {
      const input = h('input', {
        type: 'number', id, step: field.onlyInt ? '1' : 'any', value: current ?? '',
        min: field.min ?? undefined, max: field.max ?? undefined, inputMode: field.onlyInt ? 'numeric' : 'decimal',
      });
      control = input;
      value = () => (input.value === '' ? 0 : Number(input.value));
      focusTarget = input;
      break;
    }
    case 'email':
    case 'url':
    case 'text': {
      // Text without a short max may hold paragraphs: one line that grows as it fills.
      const long = field.type === 'text' && !(field.max > 0 && field.max <= 255) && field.name !== 'id';
      const input = long
        ? autosize(h('textarea', { id, rows: 1, class: 'autosize', value: current ?? '' }))
        : h('input', { type: field.type === 'text' ? 'text' : field.type, id, value: current ?? '', autocomplete: 'off' });
      if (field.name === 'id' && record) input.readOnly = true;
      if (field.name === 'id' && !record) input.placeholder = 'Leave empty to generate one';
      control = input;
      value = () => input.value;
      focusTarget = input;
      break;
    }
    case 'editor': {
      const editor = richText({ id, label: field.name, html: current ?? '' });
      control = editor.el;
      value = editor.value;
      focusTarget = editor.focusTarget;
      break;
    }
    case 'date': {
      const input = h('input', { type: 'datetime-local', id, step: 1, value: toLocalInput(current) });
      control = h('div', { class: 'input-group' }, input, h('span', { class: 'addon', text: 'UTC' }),
        h('button', { type: 'button', class: 'btn', text: 'Clear', 'aria-label': `Clear ${field.name}`, onclick: () => { input.value = ''; input.focus(); } }));
      value = () => fromLocalInput(input.value);
      focusTarget = input;
      break;
    }
    case 'autodate': {
      const input = h('input', { type: 'text', id, readOnly: true, value: current ? formatDate(current) : 'Set by the server' });
      control = input;
      focusTarget = input;
      break;
    }
    case 'select': {
      const values = field.values || [];
      if (isMulti(field)) {
        const chosen = new Set(Array.isArray(current) ? current : []);
        const boxes = values.map((v) => checkbox(v, chosen.has(v)));
        control = h('fieldset', { id }, h('legend', { class: 'sr-only', text: field.name }), h('div', { class: 'choices' }, boxes.map((b) => b.el)));
        value = () => values.filter((_, i) => boxes[i].input.checked);
        focusTarget = boxes[0]?.input;
        labelFor = null;
      } else {
        const sel = h('select', { id },
          h('option', { value: '', text: '—' }),
          values.map((v) => h('option', { value: v, text: v, selected: v === current })));
        control = sel;
        value = () => sel.value;
        focusTarget = sel;
      }
      break;
    }
    case 'json': {
      const text = current === undefined || current === null ? '' : JSON.stringify(current, null, 2);
      const area = h('textarea', { id, class: 'code', rows: 6, value: text, spellcheck: false });
      const status = h('p', { class: 'hint', 'aria-live': 'polite' });
      const check = () => {
        if (!area.value.trim()) {
          status.textContent = 'Empty: saved as null.';
          return '';
        }
        try {
          JSON.parse(area.value);
          status.textContent = 'Valid JSON.';
          return '';
        } catch (e) {
          status.textContent = `Invalid JSON: ${e.message}`;
          return `Invalid JSON: ${e.message}`;
        }
      };
      area.addEventListener('input', check);
      check();
      control = h('div', { class: 'stack' }, area,
        h('div', { class: 'row' }, status, h('span', { class: 'spacer' }),
          h('button', {
            type: 'button', class: 'btn small', text: 'Format',
            onclick: () => {
              try {
                area.value = JSON.stringify(JSON.parse(area.value), null, 2);
                check();
              } catch { /* the status line already says why */ }
            },
          })));
      value = () => (area.value.trim() ? JSON.parse(area.value) : null);
      validate = check;
      focusTarget = area;
      break;
    }
    case 'geoPoint': {
      const lon = h('input', { type: 'number', step: 'any', id, min: -180, max: 180, value: current?.lon ?? 0 });
      const latId = nextId('lat');
      const lat = h('input', { type: 'number', step: 'any', id: latId, min: -90, max: 90, value: current?.lat ?? 0 });
      control = h('div', { class: 'geo' },
        h('div', { class: 'field' }, h('label', { for: id, class: 'small', text: 'Longitude' }), lon),
        h('div', { class: 'field' }, h('label', { for: latId, class: 'small', text: 'Latitude' }), lat));
      value = () => ({ lon: Number(lon.value || 0), lat: Number(lat.value || 0) });
      focusTarget = lon;
      labelFor = null;
      break;
    }
    case 'relation': {
      const r = relationControl(field, record, id);
      control = r.el;
      value = r.value;
      focusTarget = r.focusTarget;
      labelFor = null;
      break;
    }
    case 'file': {
      const f = fileControl(field, record, collection, id, ctx);
      control = f.el;
      value = f.value;
      files = f.files;
      focusTarget = f.focusTarget;
      labelFor = id;
      break;
    }
    default: {
      const input = h('input', { type: 'text', id, value: current ?? '' });
      control = input;
      value = () => input.value;
      focusTarget = input;
    }
  }

  // A required id is generated when left empty, so it is not marked as required.
  const required = field.required && !(field.name === 'id' && field.autogeneratePattern);
  if (required && focusTarget && field.type !== 'bool') focusTarget.setAttribute('aria-required', 'true');
  const error = errorSlot(focusTarget || control);
  const hint = hintText ? h('p', { class: 'hint', text: hintText }) : null;
  const labelText = [typeGlyph(field.type), field.name, required ? h('span', { class: 'required-mark', 'aria-hidden': 'true', text: '*' }) : null];
  let label;
  if (field.type === 'bool') label = null;
  else if (labelFor) label = h('label', { for: labelFor }, labelText);
  else label = h('span', { class: 'label', id: `${id}-label` }, labelText);
  if (!labelFor && label && focusTarget && field.type !== 'bool') {
    control.setAttribute('aria-labelledby', `${id}-label`);
    if (control.tagName === 'FIELDSET') control.querySelector('legend')?.remove();
  }
  const el = h('div', { class: 'field', 'data-field': field.name }, label, control, hint, error.el);
  return {
    field,
    el,
    error,
    value,
    files,
    validate: () => validate(),
    focus: () => focusTarget && focusTarget.focus(),
  };
}

/** Grows a textarea with its content (after it is in the page, and on every input). */
function autosize(area) {
  const fit = () => {
    area.style.height = 'auto';
    area.style.height = `${area.scrollHeight + 2}px`;
  };
  area.addEventListener('input', fit);
  requestAnimationFrame(fit);
  return area;
}

function relationControl(field, record, id) {
  const target = store.byIdOrName(field.collectionId);
  const multi = isMulti(field);
  const current = record ? record[field.name] : multi ? [] : '';
  let ids = Array.isArray(current) ? [...current] : current ? [current] : [];
  const known = new Map();
  const expanded = record?.expand?.[field.name];
  for (const r of Array.isArray(expanded) ? expanded : expanded ? [expanded] : []) known.set(r.id, r);

  const chips = h('ul', { class: 'chips', 'aria-live': 'polite' });
  const choose = h('button', { type: 'button', class: 'btn small', id }, icon('search'), multi ? 'Choose records' : 'Choose a record');
  const render = () => {
    mount(chips, ...ids.map((rid) => {
      const label = known.has(rid) ? recordLabel(target, known.get(rid)) : rid;
      return h('li', { class: 'chip', title: rid }, h('span', { text: label }),
        h('button', {
          type: 'button', 'aria-label': `Remove ${label}`, text: '×',
          onclick: () => { ids = ids.filter((x) => x !== rid); render(); choose.focus(); },
        }));
    }));
    if (!ids.length) chips.append(h('li', { class: 'muted small', text: 'Nothing chosen.' }));
  };
  // Labels for ids that arrived without an expand.
  const missing = ids.filter((x) => !known.has(x));
  if (target && missing.length) {
    api('GET', recordsPath(target.name), { query: { filter: missing.map((x) => `id = ${filterString(x)}`).join(' || '), perPage: missing.length } })
      .then((res) => { for (const r of res.items || []) known.set(r.id, r); render(); })
      .catch(() => {});
  }
  choose.addEventListener('click', async () => {
    if (!target) return;
    const picked = await pickRecords(target, { multi, max: Number(field.maxSelect) || 1, selected: ids, known });
    if (picked) {
      ids = picked;
      render();
    }
    choose.focus();
  });
  render();
  const el = h('div', { class: 'relation-box' }, chips, target ? choose : h('span', { class: 'error-text', text: 'The related collection no longer exists.' }));
  return {
    el,
    value: () => (multi ? ids : ids[0] || ''),
    focusTarget: choose,
  };
}

/** The relation picker: search the related collection, tick records, confirm. */
function pickRecords(target, { multi, max, selected, known }) {
  const chosen = new Set(selected);
  const { done } = openDialog({
    title: `Choose from ${target.name}`,
    wide: true,
    build(close) {
      const searchId = nextId('pick-search');
      const search = h('input', { type: 'search', id: searchId, placeholder: 'Search', autocomplete: 'off', autofocus: true });
      const list = h('ul', { class: 'picker-list' });
      const status = h('p', { class: 'hint', 'aria-live': 'polite' });
      const more = h('button', { type: 'button', class: 'btn small', text: 'Load more', hidden: true });
      const count = h('span', { class: 'muted small' });
      const group = nextId('pick');
      let page = 1;
      let seq = 0;
      const updateCount = () => { count.textContent = multi ? `${chosen.size} chosen${max > 1 ? ` (at most ${max})` : ''}` : ''; };
      const load = async (reset) => {
        const mySeq = ++seq;
        if (reset) {
          page = 1;
          list.replaceChildren();
        }
        status.textContent = 'Loading…';
        try {
          const res = await api('GET', recordsPath(target.name), {
            query: { page, perPage: 30, filter: searchFilter(target, search.value), sort: target.fields.some((f) => f.name === 'created') ? '-created' : '' },
          });
          if (mySeq !== seq) return;
          for (const rec of res.items || []) {
            known.set(rec.id, rec);
            const input = h('input', {
              type: multi ? 'checkbox' : 'radio', name: group, value: rec.id, checked: chosen.has(rec.id),
              onchange: (e) => {
                if (!multi) chosen.clear();
                if (e.target.checked) {
                  if (multi && max > 1 && chosen.size >= max) {
                    e.target.checked = false;
                    status.textContent = `At most ${max} can be chosen.`;
                    return;
                  }
                  chosen.add(rec.id);
                } else {
                  chosen.delete(rec.id);
                }
                updateCount();
              },
            });
            list.append(h('li', {}, h('label', {}, input, h('span', { class: 'grow', text: recordLabel(target, rec) }), h('span', { class: 'id', text: rec.id }))));
          }
          status.textContent = res.totalItems ? `${res.totalItems} found.` : 'No records found.';
          more.hidden = page >= (res.totalPages || 1);
        } catch (err) {
          if (mySeq === seq) status.textContent = err.message;
        }
      };
      let timer = 0;
      search.addEventListener('input', () => {
        clearTimeout(timer);
        timer = setTimeout(() => load(true), 200);
      });
      search.addEventListener('keydown', (e) => { if (e.key === 'Enter') e.preventDefault(); });
      more.addEventListener('click', () => { page += 1; load(false); });
      load(true);
      updateCount();
      return {
        body: h('div', {},
          h('label', { for: searchId, class: 'sr-only', text: `Search ${target.name}` }), search, status,
          h('div', { role: 'group', 'aria-label': `Records of ${target.name}` }, list), more),
        foot: [count, h('span', { class: 'spacer' }),
          h('button', { type: 'button', class: 'btn', text: 'Cancel', onclick: () => close(null) }),
          h('button', { type: 'button', class: 'btn primary', text: 'Use selection', onclick: () => close([...chosen]) })],
      };
    },
  });
  return done;
}

function fileControl(field, record, collection, id, ctx) {
  const multi = isMulti(field);
  const current = record ? record[field.name] : null;
  const existing = Array.isArray(current) ? current : current ? [current] : [];
  const removed = new Set();
  let added = [];
  const list = h('ul', { class: 'file-list' });
  const input = h('input', {
    type: 'file', id, class: 'sr-only', multiple: multi,
    accept: (field.mimeTypes || []).join(',') || undefined,
  });
  const render = () => {
    const rows = [];
    for (const name of existing) {
      const gone = removed.has(name);
      const url = record ? fileUrl(collection, record, name, { token: field.protected ? ctx.fileToken : '' }) : '';
      rows.push(h('li', { class: gone ? 'removed' : null },
        isImageName(name)
          ? h('img', { class: 'thumb', alt: '', src: record ? fileUrl(collection, record, name, { thumb: '100x100', token: field.protected ? ctx.fileToken : '' }) : '' })
          : h('span', { class: 'type-glyph', 'aria-hidden': 'true' }, icon('file')),
        h('a', { class: 'name', href: url, target: '_blank', rel: 'noopener', text: name }),
        h('button', {
          type: 'button', class: 'btn small', text: gone ? 'Restore' : 'Remove', 'aria-label': `${gone ? 'Restore' : 'Remove'} ${name}`,
          onclick: () => { if (gone) removed.delete(name); else removed.add(name); render(); },
        })));
    }
    for (const file of added) {
      const preview = file.type.startsWith('image/') ? URL.createObjectURL(file) : '';
      rows.push(h('li', {},
        preview ? h('img', { class: 'thumb', alt: '', src: preview, onload: () => URL.revokeObjectURL(preview) })
          : h('span', { class: 'type-glyph', 'aria-hidden': 'true' }, icon('file')),
        h('span', { class: 'name', text: `${file.name} (${formatBytes(file.size)}, new)` }),
        h('button', {
          type: 'button', class: 'btn small', text: 'Remove', 'aria-label': `Remove ${file.name}`,
          onclick: () => { added = added.filter((f) => f !== file); render(); input.focus(); },
        })));
    }
    mount(list, ...rows);
    if (!rows.length) list.append(h('li', { class: 'muted small', text: 'No files.' }));
  };
  input.addEventListener('change', () => {
    const picked = Array.from(input.files || []);
    if (!multi) {
      added = picked.slice(0, 1);
      for (const name of existing) removed.add(name);
    } else {
      added = [...added, ...picked];
    }
    input.value = '';
    render();
  });
  render();
  const el = h('div', {},
    list,
    h('label', { class: 'btn small upload-label' }, icon('plus'), multi ? 'Add files' : existing.length ? 'Replace file' : 'Choose a file', input));
  return {
    el,
    focusTarget: input,
    // Removals go in the JSON part with PocketBase's "field-" modifier; new files as "field+" (append).
    value: () => {
      const out = {};
      const gone = existing.filter((n) => removed.has(n));
      if (!multi && gone.length && !added.length) return { [field.name]: '' };
      if (gone.length && multi) out[`${field.name}-`] = gone;
      return Object.keys(out).length ? out : undefined;
    },
    files: () => added.map((f) => [multi && record ? `${field.name}+` : field.name, f]),
  };
}
