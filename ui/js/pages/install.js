// First run: the one-time link `motorbase serve` printed opens this form, which creates the
// first superuser and signs in with it.

import { api, signIn } from '../api.js';
import { busy, h, logoMark, mount } from '../dom.js';
import { formField } from '../ui.js';

export function installPage(root, { params, navigate }) {
  const [token] = params;
  document.title = 'Create the first superuser · Motorbase';
  const card = h('main', { class: 'card wide', id: 'main' },
    h('div', { class: 'logo' }, logoMark(), 'Motorbase'),
    h('p', { class: 'muted', text: 'Checking the install link…' }));
  root.append(h('div', { class: 'center-page' }, card));

  api('POST', '/api/install/check', { body: { token }, auth: false })
    .then(() => showForm())
    .catch((err) => showDead(err));

  function showDead(err) {
    mount(card, 
      h('div', { class: 'logo' }, logoMark(), 'Motorbase'),
      h('h1', { text: 'This install link cannot be used' }),
      h('p', { text: err.status === 0 ? err.message : 'It was already used, it has expired, or a superuser exists already.' }),
      h('p', {}, 'Sign in with an existing superuser, or restart ', h('code', { text: 'motorbase serve' }),
        ' for a new link while no superuser exists.'),
      h('a', { class: 'btn primary', href: '#/login', text: 'Go to sign in' }));
    card.querySelector('h1').tabIndex = -1;
    card.querySelector('h1').focus();
  }

  function showForm() {
    const email = formField({
      label: 'Email',
      input: h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true }),
    });
    const password = formField({
      label: 'Password',
      input: h('input', { type: 'password', name: 'password', autocomplete: 'new-password', required: true, minLength: 8 }),
      hint: 'At least 8 characters.',
    });
    const confirm = formField({
      label: 'Repeat the password',
      input: h('input', { type: 'password', name: 'passwordConfirm', autocomplete: 'new-password', required: true }),
    });
    const alert = h('div', { class: 'alert', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'btn primary block', text: 'Create superuser and sign in' });
    const form = h('form', {
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        alert.textContent = '';
        for (const f of [email, password, confirm]) f.error.clear();
        if (password.input.value !== confirm.input.value) {
          confirm.error.show('The passwords do not match.');
          confirm.input.focus();
          return;
        }
        await busy(submit, async () => {
          try {
            await api('POST', '/api/install', {
              auth: false,
              body: {
                token,
                email: email.input.value.trim(),
                password: password.input.value,
                passwordConfirm: confirm.input.value,
              },
            });
          } catch (err) {
            const shown = [
              [email, err.at('email')], [password, err.at('password')], [confirm, err.at('passwordConfirm')],
            ].filter(([, e2]) => e2);
            for (const [f, e2] of shown) f.error.show(e2.message);
            if (shown.length) {
              shown[0][0].input.focus();
            } else if (err.status === 403) {
              showDead(err);
            } else {
              alert.textContent = err.message;
            }
            return;
          }
          try {
            await signIn(email.input.value.trim(), password.input.value);
            navigate('/collections', { replace: true });
          } catch (err) {
            alert.textContent = `The superuser was created, but signing in failed: ${err.message}`;
          }
        });
      },
    }, email.el, password.el, confirm.el, alert, submit);
    mount(card, 
      h('div', { class: 'logo' }, logoMark(), 'Motorbase'),
      h('h1', { text: 'Create the first superuser' }),
      h('p', { class: 'muted', text: 'Motorbase is running. This account manages collections, records and settings in this dashboard.' }),
      form);
    email.input.focus();
  }
}
