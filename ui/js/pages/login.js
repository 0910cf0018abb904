// Sign in as a superuser with email and password.

import { signIn } from '../api.js';
import { busy, h, logoMark } from '../dom.js';
import { formField } from '../ui.js';

export function loginPage(root, { query, onSignedIn }) {
  document.title = 'Sign in · Motorbase';
  const email = formField({
    label: 'Email',
    input: h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true, autofocus: true }),
  });
  const password = formField({
    label: 'Password',
    input: h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true }),
  });
  const alert = h('div', { class: 'alert', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn primary block', text: 'Sign in' });
  const form = h('form', {
    novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      alert.textContent = '';
      email.error.clear();
      password.error.clear();
      if (!email.input.value.trim()) {
        email.error.show('Enter your email address.');
        email.input.focus();
        return;
      }
      if (!password.input.value) {
        password.error.show('Enter your password.');
        password.input.focus();
        return;
      }
      await busy(submit, async () => {
        try {
          await signIn(email.input.value.trim(), password.input.value);
          onSignedIn(query.get('next'));
        } catch (err) {
          alert.textContent = err.status === 400
            ? 'That email and password do not match a superuser.'
            : err.message;
          password.input.select();
          password.input.focus();
        }
      });
    },
  }, email.el, password.el, alert, submit);

  root.append(h('div', { class: 'center-page' },
    h('main', { class: 'card', id: 'main' },
      h('div', { class: 'logo' }, logoMark(), 'Motorbase'),
      h('h1', { text: 'Sign in' }),
      h('p', { class: 'muted', text: 'Superuser access to the dashboard.' }),
      form,
      h('p', { class: 'hint small' }, 'Forgot the password? Run ',
        h('code', { text: 'motorbase superuser upsert EMAIL NEW_PASSWORD' }), ' on the server.'))));
  email.input.focus();
}
