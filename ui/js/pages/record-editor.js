// Create or edit one record in a side drawer: a control per field type, the API's field errors
// under each control, delete with confirmation.

import { api, getFileToken, recordsPath } from '../api.js';
import { busy, h, icon, mount, nextId } from '../dom.js';
import { inputFor } from '../fields.js';
import { confirmDialog, formField, openDialog, toast } from '../ui.js';

/** Resolves with the saved record, 'deleted', or undefined when closed unchanged. */
export async function openRecordEditor(collection, record) {
  const isNew = !record;
  const ctx = {};
  if ((collection.fields || []).some((f) => f.type === 'file' && f.protected) && record) {
    ctx.fileToken = await getFileToken();
  }
  let dirty = false;
  const { done } = openDialog({
    kind: 'drawer',
    title: isNew ? `New ${collection.name} record` : `Edit ${collection.name} record`,
    onCancel: async () => !dirty || confirmDialog({
      title: 'Discard changes?', message: 'The changes in this form have not been saved.', confirmLabel: 'Discard',
    }),
    build(close) {
      const controls = [];
      const auth = collection.type === 'auth';
      let password = null;
      let passwordConfirm = null;
      for (const field of collection.fields || []) {
        if (auth && field.name === 'tokenKey') continue;
        if (field.type === 'autodate' && isNew) continue;
        if (auth && field.name === 'password') {
          password = formField({
            label: isNew ? 'Password' : 'New password',
            required: isNew,
            input: h('input', { type: 'password', autocomplete: 'new-password' }),
            hint: isNew ? null : 'Leave empty to keep the current password.',
          });
          passwordConfirm = formField({
            label: isNew ? 'Repeat the password' : 'Repeat the new password',
            required: isNew,
            input: h('input', { type: 'password', autocomplete: 'new-password' }),
          });
          continue;
        }
        if (field.type === 'password') {
          const c = formField({ label: field.name, input: h('input', { type: 'password', autocomplete: 'new-password' }), hint: isNew ? null : 'Leave empty to keep it.' });
          controls.push({ field, el: c.el, error: c.error, value: () => c.input.value, files: () => [], validate: () => '', focus: () => c.input.focus(), password: true });
          continue;
        }
        controls.push(inputFor(field, record, collection, ctx));
      }
      const alert = h('div', { class: 'alert', role: 'alert' });
      const formId = nextId('record-form');
      const items = [];
      for (const c of controls) {
        items.push(c.el);
        // The password pair goes right after the email, where people look for it.
        if (auth && c.field.name === 'email' && password) items.push(password.el, passwordConfirm.el);
      }
      if (password && !items.includes(password.el)) items.push(password.el, passwordConfirm.el);
      const form = h('form', {
        id: formId,
        class: 'record-form',
        novalidate: true,
        oninput: () => { dirty = true; },
        onchange: () => { dirty = true; },
        onsubmit: (e) => {
          e.preventDefault();
          save();
        },
      }, alert, items);

      const saveBtn = h('button', { type: 'submit', form: formId, class: 'btn primary', text: isNew ? 'Create' : 'Save changes' });
      const foot = [];
      if (!isNew) {
        foot.push(h('button', {
          type: 'button', class: 'btn danger', onclick: async () => {
            const ok = await confirmDialog({
              title: 'Delete this record?',
              message: `The ${collection.name} record ${record.id} will be deleted. This cannot be undone.`,
              confirmLabel: 'Delete record',
            });
            if (!ok) return;
            try {
              await api('DELETE', recordsPath(collection.name, record.id));
              toast('Record deleted.');
              close('deleted');
            } catch (err) {
              alert.textContent = err.message;
            }
          },
        }, icon('trash'), 'Delete'));
      }
      foot.push(h('span', { class: 'spacer' }),
        h('button', { type: 'button', class: 'btn', text: 'Cancel', onclick: async () => {
          if (!dirty || await confirmDialog({ title: 'Discard changes?', message: 'The changes in this form have not been saved.', confirmLabel: 'Discard' })) close(undefined);
        } }),
        saveBtn);

      async function save() {
        alert.textContent = '';
        const all = [...controls, password, passwordConfirm].filter(Boolean);
        for (const c of all) c.error.clear();
        for (const c of controls) {
          const problem = c.validate();
          if (problem) {
            c.error.show(problem);
            c.focus();
            return;
          }
        }
        const body = {};
        const files = [];
        for (const c of controls) {
          const f = c.field;
          if (f.type === 'autodate') continue;
          if (f.name === 'id') {
            const v = c.value();
            if (isNew && v) body.id = v;
            continue;
          }
          if (c.password) {
            if (c.value()) body[f.name] = c.value();
            continue;
          }
          if (f.type === 'file') {
            const v = c.value();
            if (v) Object.assign(body, v);
            files.push(...c.files());
            continue;
          }
          body[f.name] = c.value();
        }
        if (password && (isNew || password.input.value || passwordConfirm.input.value)) {
          body.password = password.input.value;
          body.passwordConfirm = passwordConfirm.input.value;
        }
        let payload = body;
        if (files.length) {
          payload = new FormData();
          payload.append('@jsonPayload', JSON.stringify(body));
          for (const [key, file] of files) payload.append(key, file, file.name);
        }
        await busy(saveBtn, async () => {
          try {
            const saved = isNew
              ? await api('POST', recordsPath(collection.name), { body: payload })
              : await api('PATCH', recordsPath(collection.name, record.id), { body: payload });
            toast(isNew ? 'Record created.' : 'Record saved.');
            dirty = false;
            close(saved);
          } catch (err) {
            let first = null;
            const placed = new Set();
            for (const c of controls) {
              const fe = err.at(c.field.name) || err.at(`${c.field.name}+`) || err.at(`${c.field.name}-`);
              if (fe) {
                c.error.show(fe.message);
                placed.add(c.field.name);
                first = first || c;
              }
            }
            for (const [key, f] of [['password', password], ['passwordConfirm', passwordConfirm]]) {
              const fe = f && err.at(key);
              if (fe) {
                f.error.show(fe.message);
                placed.add(key);
                first = first || { focus: () => f.input.focus() };
              }
            }
            const rest = err.fieldErrors().filter(([path]) => !placed.has(String(path[0]).replace(/[+-]$/, '')) && !placed.has(path[0]));
            mount(alert, err.message, rest.length
              ? h('ul', {}, rest.map(([path, m]) => h('li', { text: `${path.join('.')}: ${m}` })))
              : '');
            if (first) first.focus();
            else alert.scrollIntoView({ block: 'nearest' });
          }
        });
      }

      // Start in the first field people fill in: the id is usually left to the server.
      queueMicrotask(() => (controls.find((c) => c.field.name !== 'id') || controls[0])?.focus());
      return { body: form, foot };
    },
  });
  return done;
}
