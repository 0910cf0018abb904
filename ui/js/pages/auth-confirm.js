// The pages the auth mails link to (/_/#/auth/confirm-...): the same addresses PocketBase's
// templates use, so a user of any auth collection can finish the flow in the browser.

import { api, decodeToken } from '../api.js';
import { busy, h, logoMark, mount } from '../dom.js';
import { formField } from '../ui.js';

const PAGES = {
  'confirm-password-reset': { title: 'Choose a new password', done: 'Your password was changed. You can sign in with it now.' },
  'confirm-verification': { title: 'Confirm your email address', done: 'Your email address is confirmed.' },
  'confirm-email-change': { title: 'Confirm your new email address', done: 'Your email address was changed.' },
};

export function authConfirmPage(root, { params }) {
  const [action, token] = params;
  const page = PAGES[action];
  document.title = `${page.title} · Motorbase`;
  const claims = decodeToken(token);
  const collection = claims?.collectionId || '';
  const card = h('main', { class: 'card', id: 'main' });
  root.append(h('div', { class: 'center-page' }, card));
  const alert = h('div', { class: 'alert', role: 'alert' });
  const heading = h('h1', { text: page.title });
  const shell = (...children) => mount(card, h('div', { class: 'logo' }, logoMark(), 'Motorbase'), heading, ...children);

  if (!collection) {
    shell(h('p', { text: 'This link is incomplete or damaged. Ask for a new one.' }));
    return;
  }
  const url = `/api/collections/${encodeURIComponent(collection)}/${action}`;

  const finish = () => {
    shell(h('p', { class: 'alert info', role: 'status', text: page.done }));
  };

  const fail = (err) => {
    alert.textContent = err.status === 404
      ? 'This server cannot complete this step yet.'
      : err.fieldErrors().length ? err.fieldErrors().map(([, m]) => m).join(' ') : err.message;
  };

  if (action === 'confirm-verification') {
    const submit = h('button', { type: 'button', class: 'btn primary block', text: 'Confirm my email address' });
    submit.addEventListener('click', () => busy(submit, async () => {
      try {
        await api('POST', url, { body: { token }, auth: false });
        finish();
      } catch (err) {
        fail(err);
      }
    }));
    shell(alert, submit);
    submit.focus();
    return;
  }

  const fields = [];
  if (action === 'confirm-password-reset') {
    fields.push(['password', formField({ label: 'New password', input: h('input', { type: 'password', autocomplete: 'new-password', required: true }) })]);
    fields.push(['passwordConfirm', formField({ label: 'Repeat the new password', input: h('input', { type: 'password', autocomplete: 'new-password', required: true }) })]);
  } else {
    fields.push(['password', formField({ label: 'Your current password', input: h('input', { type: 'password', autocomplete: 'current-password', required: true }) })]);
  }
  const submit = h('button', { type: 'submit', class: 'btn primary block', text: 'Confirm' });
  const form = h('form', {
    novalidate: true,
    onsubmit: (e) => {
      e.preventDefault();
      alert.textContent = '';
      const body = { token };
      for (const [key, f] of fields) {
        f.error.clear();
        body[key] = f.input.value;
      }
      busy(submit, async () => {
        try {
          await api('POST', url, { body, auth: false });
          finish();
        } catch (err) {
          let placed = false;
          for (const [key, f] of fields) {
            const fe = err.at(key);
            if (fe) {
              f.error.show(fe.message);
              placed = true;
            }
          }
          if (!placed) fail(err);
        }
      });
    },
  }, fields.map(([, f]) => f.el), alert, submit);
  shell(form);
  fields[0][1].input.focus();
}
