// Create or edit a collection in a side drawer: name and type, fields (add, rename, reorder,
// remove, options per type), the API rules with the parser's errors at their position,
// indexes, a view collection's query, and an auth collection's options.

import { api } from '../api.js';
import { busy, h, icon, mount, nextId } from '../dom.js';
import { FIELD_TYPES, newField, optionControls, typeGlyph, typeInfo } from '../fields.js';
import { store } from '../state.js';
import { checkbox, confirmDialog, errorSlot, openDialog, tabs, toast } from '../ui.js';

const RULES = {
  listRule: ['List and search', 'who may list records and search them'],
  viewRule: ['View', 'who may read one record'],
  createRule: ['Create', 'who may create records'],
  updateRule: ['Update', 'who may change records'],
  deleteRule: ['Delete', 'who may delete records'],
  authRule: ['Authentication', 'which records may sign in, checked after their credentials (e.g. verified = true)'],
  manageRule: ['Manage', 'who may change other records\' email and password without the old password'],
};

/** System fields of a new collection, as the API would add them (so error indexes line up). */
function scaffoldFields(type) {
  const id = {
    ...newField('text', 'id'), system: true, required: true, primaryKey: true,
    autogeneratePattern: '[a-z0-9]{15}', min: 15, max: 15, pattern: '^[a-z0-9]+$',
  };
  if (type === 'view') return [];
  const fields = [id];
  if (type === 'auth') {
    fields.push(
      { ...newField('password', 'password'), system: true, hidden: true, required: true, min: 8 },
      { ...newField('text', 'tokenKey'), system: true, hidden: true, required: true, autogeneratePattern: '[a-zA-Z0-9]{50}', min: 30, max: 60 },
      { ...newField('email', 'email'), system: true, required: true },
      { ...newField('bool', 'emailVisibility'), system: true },
      { ...newField('bool', 'verified'), system: true },
    );
  }
  return fields;
}

/** New collections get created/updated dates, as most apps want them. */
function timestampFields() {
  return [
    { ...newField('autodate', 'created'), onCreate: true, onUpdate: false },
    { ...newField('autodate', 'updated'), onCreate: true, onUpdate: true },
  ];
}

let keySeq = 0;
const withKey = (f) => ({ ...f, _key: `k${++keySeq}` });
const clean = (f) => Object.fromEntries(Object.entries(f).filter(([k]) => !k.startsWith('_')));

/** Resolves with the saved collection, 'deleted', or undefined. */
export function openCollectionEditor(existing) {
  const isNew = !existing;
  const draft = isNew
    ? {
      name: '', type: 'base', system: false,
      listRule: null, viewRule: null, createRule: null, updateRule: null, deleteRule: null,
      fields: [...scaffoldFields('base'), ...timestampFields()].map(withKey), indexes: [], viewQuery: '',
    }
    : { ...structuredClone(existing), fields: (existing.fields || []).map((f) => withKey(structuredClone(f))) };
  const original = new Map((existing?.fields || []).map((f) => [f.id, f.name]));
  let dirty = false;

  const { done } = openDialog({
    kind: 'drawer',
    title: isNew ? 'New collection' : `Edit ${existing.name}`,
    onCancel: async () => !dirty || confirmDialog({ title: 'Discard changes?', message: 'The changes to this collection have not been saved.', confirmLabel: 'Discard' }),
    build(close, dialog) {
      dialog.addEventListener('input', () => { dirty = true; });
      dialog.addEventListener('change', () => { dirty = true; });
      const summary = h('div', { class: 'alert', role: 'alert' });

      // ---- name and type
      const nameId = nextId('coll-name');
      const nameInput = h('input', {
        id: nameId, value: draft.name, required: true, autocomplete: 'off', spellcheck: false, placeholder: 'posts',
        readOnly: !!draft.system, oninput: (e) => { draft.name = e.target.value.trim(); },
      });
      const nameErr = errorSlot(nameInput);
      const typeErr = errorSlot(null);
      const nameField = h('div', { class: 'field' }, h('label', { for: nameId, text: 'Name' }), nameInput,
        h('p', { class: 'hint', text: 'Letters, digits and underscores; the API path is /api/collections/NAME/records.' }), nameErr.el);
      let typeField;
      if (isNew) {
        const group = nextId('coll-type');
        const choice = (type, label, sub) => h('label', {},
          h('input', {
            type: 'radio', name: group, value: type, checked: draft.type === type,
            onchange: () => changeType(type),
          }),
          h('span', {}, label, h('span', { class: 'sub', text: sub })));
        typeField = h('fieldset', {}, h('legend', { text: 'Type' }),
          h('div', { class: 'type-choice' },
            choice('base', 'Base', 'Records with your fields'),
            choice('auth', 'Auth', 'Users who sign in'),
            choice('view', 'View', 'Read-only rows from a SQL query')),
          typeErr.el);
      } else {
        typeField = h('p', { class: 'muted' }, 'Type: ', h('span', { class: 'badge', text: draft.type }), ' · id ', h('code', { text: draft.id }));
      }

      // ---- tabs
      const tabsBox = h('div');
      let t = null;
      const cards = new Map(); // field _key -> {slots, error, open(bool)}
      const ruleSlots = {};
      const indexSlots = [];
      const optionSlots = new Map(); // 'otp.duration' -> slot
      let querySlot = null;

      function tabList() {
        if (draft.type === 'view') return [{ id: 'query', label: 'Query' }, { id: 'rules', label: 'API rules' }];
        const list = [{ id: 'fields', label: 'Fields' }, { id: 'rules', label: 'API rules' }];
        if (draft.type === 'auth') list.push({ id: 'options', label: 'Auth options' });
        list.push({ id: 'indexes', label: 'Indexes' });
        return list;
      }

      function renderTabs() {
        t = tabs(tabList(), {
          onSelect: (id) => {
            if (id === 'rules') refreshChips();
            if (id === 'indexes') refreshIndexPicker();
          },
        });
        renderFields();
        renderRules();
        renderIndexes();
        renderOptions();
        renderQuery();
        mount(tabsBox, t.list, ...Object.values(t.panels));
      }

      function changeType(type) {
        const custom = draft.fields.filter((f) => !f.system);
        draft.type = type;
        if (type === 'view') {
          draft.fields = [];
          draft.createRule = null;
          draft.updateRule = null;
          draft.deleteRule = null;
        } else {
          const keep = custom.length ? custom : timestampFields().map(withKey);
          draft.fields = [...scaffoldFields(type).map(withKey), ...keep];
        }
        if (type === 'auth') {
          draft.authRule = draft.authRule ?? '';
          draft.manageRule = draft.manageRule ?? null;
        } else {
          delete draft.authRule;
          delete draft.manageRule;
        }
        renderTabs();
      }

      // ---- fields
      function renderFields(focus) {
        const panel = t.panels.fields;
        if (!panel) return;
        cards.clear();
        const list = h('ul', { class: 'field-list', 'aria-label': 'Fields' });
        draft.fields.forEach((field, index) => list.append(fieldCard(field, index)));
        const picker = h('div', { class: 'type-picker', hidden: true, role: 'group', 'aria-label': 'Type of the new field' },
          FIELD_TYPES.filter((ty) => ty.type !== 'password' || draft.type !== 'auth').map((ty) => h('button', {
            type: 'button', class: 'btn small',
            onclick: () => {
              const f = withKey(newField(ty.type));
              for (const other of draft.fields) other._open = false;
              f._open = true;
              // New fields go before the trailing created/updated dates.
              let at = draft.fields.length;
              while (at > 0 && draft.fields[at - 1].type === 'autodate') at -= 1;
              draft.fields.splice(at, 0, f);
              dirty = true;
              renderFields({ key: f._key, what: 'name' });
            },
          }, typeGlyph(ty.type), ty.label)));
        const addBtn = h('button', {
          type: 'button', class: 'btn', 'aria-expanded': 'false',
          onclick: () => {
            picker.hidden = !picker.hidden;
            addBtn.setAttribute('aria-expanded', picker.hidden ? 'false' : 'true');
            if (!picker.hidden) picker.querySelector('button').focus();
          },
        }, icon('plus'), 'New field');
        mount(panel, list, h('div', { class: 'stack' }, addBtn, picker));
        if (focus) {
          const card = cards.get(focus.key);
          card?.focus(focus.what);
        }
      }

      function fieldCard(field, index) {
        const slots = new Map();
        const reg = (key, slot) => slots.set(key, slot);
        const locked = !!field.system;
        const nameId = nextId('fname');
        const optsId = nextId('fopts');
        const labelOf = () => field.name || `new ${typeInfo(field.type).label.toLowerCase()} field`;
        const label = labelOf();
        const nameInput = h('input', {
          id: nameId, class: 'field-name', value: field.name, placeholder: 'Field name', spellcheck: false, autocomplete: 'off',
          readOnly: locked, 'aria-label': `Name of field ${index + 1} (${typeInfo(field.type).label})`,
          oninput: (e) => {
            field.name = e.target.value.trim();
            relabel();
          },
        });
        reg('name', errorSlot(nameInput));
        const cardError = h('p', { class: 'error-text', role: 'alert' });
        const options = h('div', { class: 'field-options', id: optsId, hidden: !field._open },
          optionControls(field, draft, reg));
        const optsBtn = h('button', {
          type: 'button', class: 'btn small', 'aria-expanded': field._open ? 'true' : 'false', 'aria-controls': optsId,
          onclick: () => setOpen(options.hidden),
        }, icon('sliders'), 'Options');
        function setOpen(open) {
          field._open = open;
          options.hidden = !open;
          optsBtn.setAttribute('aria-expanded', open ? 'true' : 'false');
        }
        const move = (delta) => {
          const to = index + delta;
          if (to < 0 || to >= draft.fields.length) return;
          [draft.fields[index], draft.fields[to]] = [draft.fields[to], draft.fields[index]];
          dirty = true;
          renderFields({ key: field._key, what: delta < 0 ? 'up' : 'down' });
        };
        const upBtn = h('button', { type: 'button', class: 'icon-btn', 'aria-label': `Move ${label} up`, disabled: index === 0, onclick: () => move(-1) }, icon('up'));
        const downBtn = h('button', { type: 'button', class: 'icon-btn', 'aria-label': `Move ${label} down`, disabled: index === draft.fields.length - 1, onclick: () => move(1) }, icon('down'));
        const removeBtn = locked ? null : h('button', {
          type: 'button', class: ['icon-btn', !field._removed && 'danger'],
          'aria-label': field._removed ? `Restore ${label}` : `Remove ${label}`,
          title: field._removed ? 'Restore' : 'Remove',
          onclick: () => {
            if (!field.id) {
              draft.fields.splice(index, 1);
              renderFields();
              return;
            }
            field._removed = !field._removed;
            renderFields({ key: field._key, what: 'remove' });
          },
        }, icon(field._removed ? 'refresh' : 'trash'));
        const required = field.type === 'autodate' || locked ? null
          : checkbox('Required', field.required, (v) => { field.required = v; }, { 'aria-label': `${label} is required` });
        // Buttons name the field they act on; renaming the field renames them.
        function relabel() {
          const l = labelOf();
          optsBtn.setAttribute('aria-label', `Options of ${l}`);
          upBtn.setAttribute('aria-label', `Move ${l} up`);
          downBtn.setAttribute('aria-label', `Move ${l} down`);
          if (removeBtn) removeBtn.setAttribute('aria-label', `${field._removed ? 'Restore' : 'Remove'} ${l}`);
          if (required) required.input.setAttribute('aria-label', `${l} is required`);
        }
        relabel();
        const card = h('li', { class: ['field-card', field._removed && 'removed'], 'data-field': field.name },
          h('div', { class: 'field-head' },
            typeGlyph(field.type), h('span', { class: 'type-name', text: typeInfo(field.type).label }),
            nameInput,
            required ? required.el : null,
            locked ? h('span', { class: 'badge', title: 'System field', text: 'system' }) : null,
            optsBtn, upBtn, downBtn, removeBtn),
          slots.get('name').el,
          field._removed ? h('p', { class: 'hint', text: 'Removed when you save, with its data.' }) : options,
          cardError);
        cards.set(field._key, {
          slots,
          showError(key, message) {
            const slot = slots.get(key);
            if (slot) {
              slot.show(message);
              if (key !== 'name') setOpen(true);
            } else {
              cardError.textContent = `${cardError.textContent} ${key}: ${message}`.trim();
            }
            card.classList.add('invalid');
          },
          focus(what) {
            if (what === 'up') (upBtn.disabled ? downBtn : upBtn).focus();
            else if (what === 'down') (downBtn.disabled ? upBtn : downBtn).focus();
            else if (what === 'remove' && removeBtn) removeBtn.focus();
            else if (what === 'error') {
              const bad = card.querySelector('[aria-invalid="true"]');
              (bad || nameInput).focus();
            } else nameInput.focus();
          },
        });
        return card;
      }

      // ---- rules
      let lastRule = null;
      let refreshChips = () => {};
      function renderRules() {
        const panel = t.panels.rules;
        const keys = draft.type === 'view' ? ['listRule', 'viewRule']
          : ['listRule', 'viewRule', 'createRule', 'updateRule', 'deleteRule', ...(draft.type === 'auth' ? ['authRule', 'manageRule'] : [])];
        const areas = {};
        const insert = (text) => {
          const area = lastRule && !lastRule.disabled ? lastRule : Object.values(areas).find((a) => !a.disabled);
          if (!area) return;
          const { selectionStart: s, selectionEnd: e, value } = area;
          area.value = value.slice(0, s) + text + value.slice(e);
          area.dispatchEvent(new Event('input', { bubbles: true }));
          area.focus();
          area.setSelectionRange(s + text.length, s + text.length);
        };
        const chips = h('div', { class: 'rule-chips', role: 'group', 'aria-label': 'Insert into the focused rule' });
        // Field names change while the editor is open: refilled each time the tab is shown.
        refreshChips = () => {
          const names = draft.type === 'view' ? [] : draft.fields.filter((f) => !f._removed && f.name && f.type !== 'password' && !(draft.type === 'auth' && f.name === 'tokenKey')).map((f) => f.name);
          mount(chips, ['@request.auth.id', '@request.body.', '@request.query.', '@collection.', '@now', ...names].map((n) => h('button', {
            type: 'button', text: n, onmousedown: (e) => e.preventDefault(), onclick: () => insert(n),
          })));
        };
        refreshChips();
        const items = keys.map((key) => {
          const [title, what] = RULES[key];
          const id = nextId(`rule-${key}`);
          const hintEl = h('p', { class: 'hint' });
          const area = h('textarea', {
            id, class: 'code', rows: 2, spellcheck: false, value: draft[key] ?? '', disabled: draft[key] === null,
            placeholder: 'Empty: everyone, including guests',
            onfocus: (e) => { lastRule = e.target; },
            oninput: (e) => { draft[key] = e.target.value; describe(); },
          });
          const describe = () => {
            const v = draft[key];
            hintEl.textContent = v === null ? `Only superusers: ${what}.`
              : v.trim() === '' ? `Everyone, guests included: ${what}.`
                : `Records matching this filter: ${what}.`;
          };
          describe();
          const lock = checkbox('Superusers only', draft[key] === null, (on) => {
            draft[key] = on ? null : '';
            area.disabled = on;
            area.value = on ? '' : area.value;
            describe();
            if (!on) area.focus();
          });
          const errBox = h('div', { class: 'rule-error' });
          const slot = errorSlot(area);
          ruleSlots[key] = {
            show(message) {
              slot.show(message);
              mount(errBox, ...ruleErrorPointer(area.value, message, area));
            },
            clear() {
              slot.clear();
              errBox.replaceChildren();
            },
          };
          areas[key] = area;
          return h('div', { class: 'rule', 'data-rule': key },
            h('div', { class: 'rule-head' }, h('label', { for: id, text: `${title} rule` }), lock.el),
            area, hintEl, slot.el, errBox);
        });
        mount(panel, 
          h('p', { class: 'hint' }, 'Each rule is a filter in the API\'s filter language. Locked means superusers only; empty means everyone.'),
          chips, ...items);
      }

      // ---- indexes
      let refreshIndexPicker = () => {};
      function renderIndexes() {
        const panel = t.panels.indexes;
        if (!panel) return;
        indexSlots.length = 0;
        const list = h('div');
        draft.indexes = draft.indexes || [];
        draft.indexes.forEach((sql, i) => {
          const id = nextId('index');
          const area = h('textarea', {
            id, class: 'code', rows: 2, value: sql, spellcheck: false,
            oninput: (e) => { draft.indexes[i] = e.target.value; },
          });
          const slot = errorSlot(area);
          indexSlots[i] = slot;
          list.append(h('div', {},
            h('label', { for: id, class: 'sr-only', text: `Index ${i + 1}` }),
            h('div', { class: 'index-item' }, area,
              h('button', {
                type: 'button', class: 'icon-btn danger', 'aria-label': `Remove index ${i + 1}`,
                onclick: () => { draft.indexes.splice(i, 1); dirty = true; renderIndexes(); },
              }, icon('trash'))),
            slot.el));
        });
        if (!draft.indexes.length) list.append(h('p', { class: 'muted', text: 'No indexes.' }));
        const picker = h('fieldset', {}, h('legend', { text: 'New index' }));
        refreshIndexPicker = () => mount(picker, h('legend', { text: 'New index' }), ...indexPicker());
        refreshIndexPicker();
        mount(panel,
          h('p', { class: 'hint', text: 'Indexes speed up filters and sorts; a unique index also refuses duplicate values.' }),
          list, picker);
      }

      /** Field checkboxes and "Unique" for a new index; the fields are read when it is shown. */
      function indexPicker() {
        const columns = draft.fields.filter((f) => !f._removed && f.name && !['id', 'password'].includes(f.name));
        const picks = columns.map((f) => checkbox(f.name, false));
        const unique = checkbox('Unique', false);
        const problem = h('span', { class: 'error-text', role: 'alert' });
        const addBtn = h('button', {
          type: 'button', class: 'btn small',
          onclick: () => {
            const cols = columns.filter((_, i) => picks[i].input.checked).map((f) => f.name);
            if (!cols.length) {
              problem.textContent = 'Tick at least one field.';
              return;
            }
            const table = draft.name || 'collection';
            const name = `idx_${table}_${cols.join('_')}`.slice(0, 60);
            draft.indexes.push(`CREATE ${unique.input.checked ? 'UNIQUE ' : ''}INDEX \`${name}\` ON \`${table}\` (${cols.map((c) => `\`${c}\``).join(', ')})`);
            dirty = true;
            renderIndexes();
          },
        }, icon('plus'), 'Add index');
        return [
          columns.length ? h('div', { class: 'choices' }, picks.map((p) => p.el)) : h('p', { class: 'hint', text: 'Add fields first.' }),
          h('div', { class: 'row' }, unique.el, h('span', { class: 'spacer' }), problem, addBtn),
        ];
      }

      // ---- view query
      function renderQuery() {
        const panel = t.panels.query;
        if (!panel) return;
        const id = nextId('view-query');
        const area = h('textarea', {
          id, class: 'code', rows: 8, spellcheck: false, value: draft.viewQuery || '',
          placeholder: 'SELECT id, title, created FROM posts WHERE status = \'published\'',
          oninput: (e) => { draft.viewQuery = e.target.value; },
        });
        querySlot = errorSlot(area);
        const preview = h('div', { class: 'preview-table', 'aria-live': 'polite' });
        const previewBtn = h('button', {
          type: 'button', class: 'btn small',
          onclick: () => busy(previewBtn, async () => {
            // The API runs the query as written (read-only, nothing saved) and says which fields
            // the view would get.
            try {
              const res = await api('POST', '/api/collections/meta/dry-run-view', { body: { query: draft.viewQuery || '' } });
              const cols = (res.fields || []).map((f) => f.name);
              const rows = (res.sample || []).slice(0, 5);
              mount(preview,
                h('p', { class: 'hint', text: `Fields: ${(res.fields || []).map((f) => `${f.name} (${f.type})`).join(', ')}. First ${rows.length} rows:` }),
                h('div', { class: 'table-wrap' }, h('table', { class: 'records' },
                  h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col', text: c })))),
                  h('tbody', {}, rows.map((r) => h('tr', {}, cols.map((c) => h('td', {},
                    h('span', { class: 'cell-text', text: typeof r[c] === 'object' ? JSON.stringify(r[c]) : String(r[c] ?? '') })))))))));
            } catch (err) {
              mount(preview, h('p', { class: 'alert', text: err.message }));
            }
          }),
        }, icon('eye'), 'Preview rows');
        mount(panel, 
          h('div', { class: 'field' }, h('label', { for: id, text: 'SQL query' }), area,
            h('p', { class: 'hint', text: 'One SELECT statement; it must return an id column. The fields are derived from the columns.' }), querySlot.el),
          h('div', { class: 'row' }, previewBtn), preview);
      }

      // ---- auth options
      function renderOptions() {
        const panel = t.panels.options;
        if (!panel) return;
        optionSlots.clear();
        if (!draft.passwordAuth && !draft.authToken) {
          mount(panel, h('p', { class: 'alert info', text: 'The auth options get their defaults when the collection is created; edit them afterwards.' }));
          return;
        }
        const get = (path) => path.split('.').reduce((o, k) => (o ? o[k] : undefined), draft);
        const set = (path, value) => {
          const keys = path.split('.');
          let o = draft;
          for (const k of keys.slice(0, -1)) {
            if (!o[k] || typeof o[k] !== 'object') o[k] = {};
            o = o[k];
          }
          o[keys[keys.length - 1]] = value;
        };
        const ctl = (path, label, input, hint) => {
          const id = nextId('opt');
          input.id = id;
          const slot = errorSlot(input);
          optionSlots.set(path, slot);
          return h('div', { class: 'field' }, h('label', { for: id, text: label }), input, hint ? h('p', { class: 'hint', text: hint }) : null, slot.el);
        };
        const flag = (path, label) => {
          const c = checkbox(label, !!get(path), (v) => set(path, v));
          const slot = errorSlot(c.input);
          optionSlots.set(path, slot);
          return h('div', { class: 'field' }, c.el, slot.el);
        };
        const num = (path, label, hint) => ctl(path, label, h('input', {
          type: 'number', min: 0, value: get(path) ?? 0, oninput: (e) => set(path, Number(e.target.value || 0)),
        }), hint);
        const text = (path, label, hint, mono) => ctl(path, label, h('input', {
          type: 'text', class: mono ? 'code' : null, value: get(path) ?? '', spellcheck: false, oninput: (e) => set(path, e.target.value),
        }), hint);
        const list = (path, label, hint) => ctl(path, label, h('input', {
          type: 'text', value: (get(path) || []).join(', '), spellcheck: false,
          oninput: (e) => set(path, e.target.value.split(',').map((s) => s.trim()).filter(Boolean)),
        }), hint);
        const template = (path, label) => {
          if (!get(path)) return null;
          return h('details', {}, h('summary', { text: label }),
            h('div', { class: 'stack' },
              text(`${path}.subject`, 'Subject'),
              ctl(`${path}.body`, 'Body (HTML)', h('textarea', {
                class: 'code', rows: 6, value: get(`${path}.body`) || '', spellcheck: false,
                oninput: (e) => set(`${path}.body`, e.target.value),
              }), 'Placeholders: {APP_NAME}, {APP_URL}, {TOKEN}, {OTP}, {ALERT_INFO}.')));
        };
        const section = (title, ...children) => h('section', { class: 'section' }, h('h3', { text: title }), h('div', { class: 'stack' }, children));

        const providers = h('div', { class: 'stack' });
        const renderProviders = () => {
          const items = get('oauth2.providers') || [];
          mount(providers, ...items.map((p, i) => h('fieldset', {},
            h('legend', { text: p.name || `Provider ${i + 1}` }),
            h('div', { class: 'field-row' },
              text(`oauth2.providers.${i}.name`, 'Name', 'google, github, oidc…'),
              text(`oauth2.providers.${i}.displayName`, 'Display name'),
              text(`oauth2.providers.${i}.clientId`, 'Client id'),
              ctl(`oauth2.providers.${i}.clientSecret`, 'Client secret', h('input', {
                type: 'password', autocomplete: 'off', value: p.clientSecret || '',
                placeholder: p.clientSecret === undefined ? 'Stored; type to replace' : '',
                // The API never sends secrets back and keeps the stored one when none is sent.
                oninput: (e) => {
                  if (e.target.value) p.clientSecret = e.target.value;
                  else delete p.clientSecret;
                },
              })),
              text(`oauth2.providers.${i}.authURL`, 'Auth URL'),
              text(`oauth2.providers.${i}.tokenURL`, 'Token URL'),
              text(`oauth2.providers.${i}.userInfoURL`, 'User info URL'),
              flag(`oauth2.providers.${i}.pkce`, 'PKCE')),
            h('button', {
              type: 'button', class: 'btn small danger', text: `Remove ${p.name || 'provider'}`,
              onclick: () => { items.splice(i, 1); renderProviders(); },
            }))),
          h('button', {
            type: 'button', class: 'btn small', onclick: () => {
              set('oauth2.providers', [...items, { name: '', clientId: '', clientSecret: '', authURL: '', tokenURL: '', userInfoURL: '', displayName: '', pkce: null }]);
              renderProviders();
            },
          }, icon('plus'), 'Add provider'));
        };
        renderProviders();
        const fieldNames = draft.fields.filter((f) => !f.system && !f._removed).map((f) => f.name);
        const mapped = (key, label) => ctl(`oauth2.mappedFields.${key}`, label, h('select', {
          onchange: (e) => set(`oauth2.mappedFields.${key}`, e.target.value),
        }, h('option', { value: '', text: '—' }), fieldNames.map((n) => h('option', { value: n, text: n, selected: get(`oauth2.mappedFields.${key}`) === n }))));

        mount(panel, 
          section('Password sign-in', flag('passwordAuth.enabled', 'Allow signing in with a password'),
            list('passwordAuth.identityFields', 'Identity fields', 'Fields that identify the user, separated by commas (each needs a unique index), e.g. email, username.')),
          section('One-time passwords (OTP)', flag('otp.enabled', 'Allow signing in with a code sent by mail'),
            h('div', { class: 'field-row' }, num('otp.duration', 'Code lifetime (seconds)'), num('otp.length', 'Code length'))),
          section('Multi-factor authentication', flag('mfa.enabled', 'Require a second method after the first'),
            h('div', { class: 'field-row' }, num('mfa.duration', 'Time for the second step (seconds)')),
            text('mfa.rule', 'Only when this filter matches (empty: always)', null, true)),
          section('OAuth2', flag('oauth2.enabled', 'Allow signing in with OAuth2 providers'), providers,
            h('details', {}, h('summary', { text: 'Map provider data to fields' }),
              h('div', { class: 'field-row' }, mapped('name', 'Name'), mapped('username', 'Username'), mapped('avatarURL', 'Avatar'), mapped('id', 'Provider id')))),
          section('Sign-in alerts', flag('authAlert.enabled', 'Mail the user after a sign-in from a new device')),
          section('Token lifetimes (seconds)', h('div', { class: 'field-row' },
            num('authToken.duration', 'Auth'), num('verificationToken.duration', 'Verification'),
            num('passwordResetToken.duration', 'Password reset'), num('emailChangeToken.duration', 'Email change'),
            num('fileToken.duration', 'Protected file access'))),
          section('Mail templates',
            template('verificationTemplate', 'Verification'),
            template('resetPasswordTemplate', 'Password reset'),
            template('confirmEmailChangeTemplate', 'Email change'),
            template('otp.emailTemplate', 'One-time password'),
            template('authAlert.emailTemplate', 'Sign-in alert')));
      }

      renderTabs();

      // ---- footer
      const formId = nextId('coll-form');
      const saveBtn = h('button', { type: 'submit', form: formId, class: 'btn primary', text: isNew ? 'Create' : 'Save changes' });
      const foot = [];
      if (!isNew && !draft.system) {
        foot.push(h('button', {
          type: 'button', class: 'btn danger', onclick: async () => {
            const ok = await confirmDialog({
              title: `Delete ${existing.name}?`,
              message: `The collection ${existing.name} and all its records will be deleted. This cannot be undone.`,
              confirmLabel: 'Delete collection',
              typeToConfirm: existing.name,
            });
            if (!ok) return;
            try {
              await api('DELETE', `/api/collections/${encodeURIComponent(existing.id)}`);
              toast(`Collection ${existing.name} deleted.`);
              dirty = false;
              close('deleted');
            } catch (err) {
              summary.textContent = err.message;
            }
          },
        }, icon('trash'), 'Delete'));
        if (existing.type !== 'view') {
          foot.push(h('button', {
            type: 'button', class: 'btn', onclick: async () => {
              const ok = await confirmDialog({
                title: `Empty ${existing.name}?`,
                message: `Every record of ${existing.name} will be deleted; the collection stays. This cannot be undone.`,
                confirmLabel: 'Delete all records',
                typeToConfirm: existing.name,
              });
              if (!ok) return;
              try {
                await api('DELETE', `/api/collections/${encodeURIComponent(existing.id)}/truncate`);
                toast(`All records of ${existing.name} deleted.`);
              } catch (err) {
                summary.textContent = err.message;
              }
            },
          }, 'Empty'));
        }
      }
      foot.push(h('span', { class: 'spacer' }),
        h('button', { type: 'button', class: 'btn', text: 'Cancel', onclick: async () => {
          if (!dirty || await confirmDialog({ title: 'Discard changes?', message: 'The changes to this collection have not been saved.', confirmLabel: 'Discard' })) close(undefined);
        } }),
        saveBtn);

      function payload() {
        const sent = draft.fields.filter((f) => !f._removed);
        const body = Object.fromEntries(Object.entries(draft).filter(([k]) => !k.startsWith('_')));
        body.fields = sent.map(clean);
        // Indexes follow renamed fields and a renamed collection, as the columns do.
        body.indexes = (draft.indexes || []).map((sql) => {
          let out = sql;
          for (const f of sent) {
            const was = f.id && original.get(f.id);
            if (was && was !== f.name) out = renameIndexColumn(out, was, f.name);
          }
          if (existing && draft.name !== existing.name) out = renameIndexTable(out, existing.name, draft.name);
          return out;
        });
        if (draft.type === 'view') delete body.fields;
        if (draft.type !== 'view') delete body.viewQuery;
        delete body.created;
        delete body.updated;
        return { body, sent };
      }

      function clearErrors() {
        summary.replaceChildren();
        nameErr.clear();
        typeErr.clear();
        for (const s of Object.values(ruleSlots)) s.clear();
        for (const s of indexSlots) s?.clear();
        for (const s of optionSlots.values()) s.clear();
        querySlot?.clear();
        for (const id of ['fields', 'rules', 'options', 'indexes', 'query']) t.mark(id, false);
        dialog.querySelectorAll('.field-card.invalid').forEach((c) => c.classList.remove('invalid'));
        dialog.querySelectorAll('.field-card .error-text').forEach((p) => { p.textContent = ''; });
        for (const c of cards.values()) for (const s of c.slots.values()) s.clear();
      }

      async function save() {
        clearErrors();
        const { body, sent } = payload();
        if (!isNew) {
          const changes = [];
          if (body.name !== existing.name) changes.push(`Rename the collection ${existing.name} to ${body.name}.`);
          for (const f of draft.fields) {
            if (!f.id || !original.has(f.id)) continue;
            if (f._removed) changes.push(`Delete the field ${original.get(f.id)} and its data.`);
            else if (original.get(f.id) !== f.name) changes.push(`Rename the field ${original.get(f.id)} to ${f.name}.`);
          }
          if (changes.length) {
            const ok = await confirmDialog({
              title: 'Apply these changes?',
              message: `${changes.join(' ')} Rules, filters and clients that use the old names must be updated too.`,
              confirmLabel: 'Apply changes',
              danger: changes.some((c) => c.startsWith('Delete')),
            });
            if (!ok) return;
          }
        }
        await busy(saveBtn, async () => {
          try {
            const saved = isNew
              ? await api('POST', '/api/collections', { body })
              : await api('PATCH', `/api/collections/${encodeURIComponent(existing.id)}`, { body });
            toast(isNew ? `Collection ${saved.name} created.` : `Collection ${saved.name} saved.`);
            dirty = false;
            close(saved);
          } catch (err) {
            showErrors(err, sent);
          }
        });
      }

      function showErrors(err, sent) {
        const lines = [];
        const tabsWithErrors = [];
        let firstFocus = null;
        for (const [path, message] of err.fieldErrors()) {
          const [top, second, third] = path;
          let readable = path.join('.');
          if (top === 'name') {
            nameErr.show(message);
            firstFocus = firstFocus || (() => nameInput.focus());
          } else if (top === 'type') {
            typeErr.show(message);
          } else if (top === 'fields') {
            const f = sent[Number(second)];
            readable = `field ${f?.name || Number(second) + 1}${third ? ` › ${third}` : ''}`;
            const card = f && cards.get(f._key);
            if (card) {
              card.showError(third || 'name', message);
              firstFocus = firstFocus || (() => { t.select('fields'); card.focus('error'); });
            }
            tabsWithErrors.push('fields');
          } else if (RULES[top]) {
            readable = `${RULES[top][0]} rule`;
            ruleSlots[top]?.show(message);
            tabsWithErrors.push('rules');
            firstFocus = firstFocus || (() => { t.select('rules'); dialog.querySelector(`[data-rule="${top}"] textarea`)?.focus(); });
          } else if (top === 'indexes') {
            readable = `index ${Number(second) + 1}`;
            indexSlots[Number(second)]?.show(message);
            tabsWithErrors.push('indexes');
          } else if (top === 'viewQuery') {
            readable = 'query';
            querySlot?.show(message);
            tabsWithErrors.push('query');
          } else {
            optionSlots.get(path.join('.'))?.show(message);
            tabsWithErrors.push('options');
          }
          lines.push(`${readable}: ${message}`);
        }
        for (const id of new Set(tabsWithErrors)) t.mark(id, true);
        mount(summary, h('strong', { text: err.message }),
          lines.length ? h('ul', {}, lines.map((l) => h('li', { text: l }))) : null);
        if (tabsWithErrors.length && !firstFocus) t.select(tabsWithErrors[0]);
        if (firstFocus) firstFocus();
        else summary.scrollIntoView({ block: 'nearest' });
      }

      const form = h('form', {
        id: formId, novalidate: true,
        onsubmit: (e) => {
          e.preventDefault();
          save();
        },
        onkeydown: (e) => {
          // Enter in a one-line input would submit; only the button (or Ctrl+Enter) saves.
          if (e.key === 'Enter' && e.target.tagName === 'INPUT' && !e.ctrlKey && !e.metaKey) e.preventDefault();
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
            e.preventDefault();
            save();
          }
        },
      }, summary, h('div', { class: 'stack' }, nameField, typeField), tabsBox);
      return { body: form, foot };
    },
  });
  return done;
}

/**
 * The rule's text with a caret under the character the parser stopped at. Our API's messages
 * end with "at position N" (a byte offset); PocketBase's carry no position, so none is drawn.
 */
function ruleErrorPointer(rule, message, area) {
  const all = [...String(message).matchAll(/at position (\d+)/g)];
  if (!all.length || !rule) return [];
  const bytePos = Number(all[all.length - 1][1]);
  // Byte offset to character index.
  const enc = new TextEncoder();
  let chars = 0;
  let bytes = 0;
  for (const ch of rule) {
    if (bytes >= bytePos) break;
    bytes += enc.encode(ch).length;
    chars += ch.length;
  }
  const lineStart = rule.lastIndexOf('\n', chars - 1) + 1;
  let lineEnd = rule.indexOf('\n', chars);
  if (lineEnd < 0) lineEnd = rule.length;
  const line = rule.slice(lineStart, lineEnd);
  const col = chars - lineStart;
  return [
    h('pre', { 'aria-hidden': 'true' }, h('code', {}, line, '\n', ' '.repeat(col), h('span', { class: 'caret', text: '^' }))),
    h('button', {
      type: 'button', class: 'link-btn small', text: `Go to position ${bytePos}`,
      onclick: () => {
        area.focus();
        area.setSelectionRange(chars, Math.min(rule.length, chars + 1));
      },
    }),
  ];
}

/** `CREATE INDEX ... ON t (old, ...)` with the column `old` renamed, quoted or not. */
export function renameIndexColumn(sql, from, to) {
  const open = sql.indexOf('(');
  if (open < 0) return sql;
  const esc = from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`([\`"\\[]?)\\b${esc}\\b([\`"\\]]?)`, 'g');
  return sql.slice(0, open) + sql.slice(open).replace(re, (_, a, b) => `${a}${to}${b}`);
}

/** `... ON old (...)` with the table renamed. */
export function renameIndexTable(sql, from, to) {
  const esc = from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return sql.replace(new RegExp(`(\\bON\\s+[\`"\\[]?)${esc}([\`"\\]]?\\s*\\()`, 'i'), (_, a, b) => `${a}${to}${b}`);
}
