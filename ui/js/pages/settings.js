// Application settings, one form per section, saved with PATCH /api/settings. Secrets (SMTP
// password, S3 secret) are never sent back by the API; typing one replaces it.

import { api } from '../api.js';
import { busy, h, icon, mount, nextId } from '../dom.js';
import { store } from '../state.js';
import { checkbox, errorSlot, formField, toast } from '../ui.js';

export const SETTINGS_SECTIONS = [
  { id: 'application', label: 'Application', icon: 'gear', keys: ['meta', 'trustedProxy'] },
  { id: 'mail', label: 'Mail', icon: 'mail', keys: ['meta', 'smtp'] },
  { id: 'storage', label: 'File storage', icon: 'database', keys: ['s3'] },
  { id: 'limits', label: 'Batch and rate limits', icon: 'bolt', keys: ['batch', 'rateLimits'] },
];

const TEMPLATES = [
  ['verification', 'Verification'],
  ['password-reset', 'Password reset'],
  ['email-change', 'Email change'],
  ['otp', 'One-time password'],
  ['login-alert', 'Sign-in alert'],
];

export function settingsPage(root, { section: sectionId, navigate }) {
  const section = SETTINGS_SECTIONS.find((s) => s.id === sectionId);
  if (!section) {
    navigate(`/settings/${SETTINGS_SECTIONS[0].id}`, { replace: true });
    return null;
  }
  const body = h('div', {}, h('p', { class: 'muted', text: 'Loading the settings…' }));
  root.append(
    h('div', { class: 'page-head' }, h('h1', {}, h('span', { class: 'crumb', text: 'Settings /' }), h('span', { text: section.label }))),
    body);

  let disposed = false;
  api('GET', '/api/settings')
    .then((settings) => { if (!disposed) build(settings); })
    .catch((err) => { if (!disposed) mount(body, h('p', { class: 'alert', role: 'alert', text: err.message })); });

  function build(settings) {
    const draft = structuredClone(settings);
    const slots = new Map();
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
    const text = (path, label, { type = 'text', hint, placeholder, autocomplete = 'off' } = {}) => {
      const f = formField({
        label, hint,
        input: h('input', { type, value: get(path) ?? '', placeholder, autocomplete, spellcheck: false, oninput: (e) => set(path, e.target.value) }),
      });
      slots.set(path, f.error);
      return f.el;
    };
    const num = (path, label, hint) => {
      const f = formField({
        label, hint,
        input: h('input', { type: 'number', min: 0, value: get(path) ?? 0, oninput: (e) => set(path, Number(e.target.value || 0)) }),
      });
      slots.set(path, f.error);
      return f.el;
    };
    const flag = (path, label) => {
      const c = checkbox(label, !!get(path), (v) => set(path, v));
      const slot = errorSlot(c.input);
      slots.set(path, slot);
      return h('div', { class: 'field' }, c.el, slot.el);
    };
    const list = (path, label, hint) => {
      const f = formField({
        label, hint: hint || 'Separate with commas.',
        input: h('input', {
          type: 'text', value: (get(path) || []).join(', '), spellcheck: false,
          oninput: (e) => set(path, e.target.value.split(',').map((s) => s.trim()).filter(Boolean)),
        }),
      });
      slots.set(path, f.error);
      return f.el;
    };
    const secret = (path, label) => {
      const f = formField({
        label, hint: 'Stored, never shown again. Leave empty to keep the current one.',
        input: h('input', {
          type: 'password', autocomplete: 'new-password', value: '',
          oninput: (e) => {
            if (e.target.value) set(path, e.target.value);
            else {
              const [sec, key] = path.split('.');
              if (draft[sec]) delete draft[sec][key];
            }
          },
        }),
      });
      slots.set(path, f.error);
      return f.el;
    };
    const group = (title, ...children) => h('section', { class: 'section' }, title ? h('h2', { text: title }) : null, h('div', { class: 'stack' }, children));

    const alert = h('div', { class: 'alert', role: 'alert' });
    let content;
    let extra = null;
    switch (section.id) {
      case 'application':
        content = [
          group('', text('meta.appName', 'Application name', { hint: 'Shown in the dashboard and in mails.' }),
            text('meta.appURL', 'Application URL', { type: 'url', hint: 'Where the app is reached; mail links are built on it.' }),
            flag('meta.hideControls', 'Hide the collection create and edit controls')),
          group('Behind a proxy',
            list('trustedProxy.headers', 'Trusted client IP headers', 'For example X-Forwarded-For or CF-Connecting-IP; empty trusts none.'),
            flag('trustedProxy.useLeftmostIP', 'Use the leftmost IP of the header (otherwise the rightmost)')),
        ];
        break;
      case 'mail':
        content = [
          group('Sender', h('div', { class: 'field-row' },
            text('meta.senderName', 'Sender name'), text('meta.senderAddress', 'Sender address', { type: 'email' }))),
          group('SMTP server',
            flag('smtp.enabled', 'Send mail through this SMTP server'),
            h('div', { class: 'field-row' },
              text('smtp.host', 'Host', { placeholder: 'smtp.example.com' }), num('smtp.port', 'Port'),
              text('smtp.username', 'Username'), secret('smtp.password', 'Password')),
            h('div', { class: 'field-row' },
              selectField('smtp.authMethod', 'Authentication', [['', 'Default (PLAIN)'], ['PLAIN', 'PLAIN'], ['LOGIN', 'LOGIN']]),
              text('smtp.localName', 'Local name (HELO)', { placeholder: 'localhost' })),
            flag('smtp.tls', 'Use implicit TLS (usually port 465)')),
        ];
        extra = testMailBox();
        break;
      case 'storage':
        content = [
          group('', h('p', { class: 'hint', text: 'Uploaded files are kept in the data folder unless S3 (or a compatible service) is enabled.' }),
            flag('s3.enabled', 'Store files on S3'),
            h('div', { class: 'field-row' },
              text('s3.endpoint', 'Endpoint', { placeholder: 'https://s3.eu-central-1.amazonaws.com' }), text('s3.bucket', 'Bucket'),
              text('s3.region', 'Region'), text('s3.accessKey', 'Access key'), secret('s3.secret', 'Secret')),
            flag('s3.forcePathStyle', 'Force path-style addressing')),
        ];
        extra = testS3Box();
        break;
      case 'limits':
      default:
        content = [
          group('Batch API',
            flag('batch.enabled', 'Allow /api/batch (several writes in one transaction)'),
            h('div', { class: 'field-row' },
              num('batch.maxRequests', 'Max requests per batch'), num('batch.timeout', 'Timeout (seconds)'),
              num('batch.maxBodySize', 'Max body size (bytes)', '0 uses the default.'))),
          group('Rate limits',
            flag('rateLimits.enabled', 'Limit requests per client'),
            rateRules(),
            list('rateLimits.excludedIPs', 'Excluded IPs')),
        ];
        break;
    }

    function selectField(path, label, choices) {
      const f = formField({
        label,
        input: h('select', { onchange: (e) => set(path, e.target.value) },
          choices.map(([v, l]) => h('option', { value: v, text: l, selected: (get(path) ?? '') === v }))),
      });
      slots.set(path, f.error);
      return f.el;
    }

    function rateRules() {
      const box = h('div');
      const render = () => {
        const rules = get('rateLimits.rules') || [];
        const rows = rules.map((r, i) => {
          const cell = (key, input) => {
            input.setAttribute('aria-label', `Rule ${i + 1} ${key}`);
            return h('td', {}, input);
          };
          return h('tr', {},
            cell('label', h('input', { type: 'text', value: r.label, class: 'code', placeholder: '/api/ or posts:create', oninput: (e) => { r.label = e.target.value; } })),
            cell('audience', h('select', { onchange: (e) => { r.audience = e.target.value; } },
              [['', 'Everyone'], ['@guest', 'Guests'], ['@auth', 'Signed in']].map(([v, l]) => h('option', { value: v, text: l, selected: r.audience === v })))),
            cell('max requests', h('input', { type: 'number', min: 1, value: r.maxRequests, oninput: (e) => { r.maxRequests = Number(e.target.value || 0); } })),
            cell('duration in seconds', h('input', { type: 'number', min: 1, value: r.duration, oninput: (e) => { r.duration = Number(e.target.value || 0); } })),
            h('td', {}, h('button', {
              type: 'button', class: 'icon-btn danger', 'aria-label': `Remove rule ${i + 1} (${r.label})`,
              onclick: () => { rules.splice(i, 1); render(); },
            }, icon('trash'))));
        });
        const slot = errorSlot(null);
        slots.set('rateLimits.rules', slot);
        mount(box, 
          h('div', { class: 'table-wrap' }, h('table', { class: 'rate-rules' },
            h('thead', {}, h('tr', {}, ['Label (path or collection:action)', 'Who', 'Max requests', 'Per seconds', ''].map((t) => h('th', { scope: 'col', text: t })))),
            h('tbody', {}, rows))),
          slot.el,
          h('button', {
            type: 'button', class: 'btn small', onclick: () => {
              set('rateLimits.rules', [...rules, { label: '', audience: '', duration: 10, maxRequests: 100 }]);
              render();
            },
          }, icon('plus'), 'Add rule'));
      };
      render();
      return box;
    }

    function testMailBox() {
      const email = formField({ label: 'Send to', input: h('input', { type: 'email', autocomplete: 'email' }) });
      const templateId = nextId('tpl');
      const template = h('select', { id: templateId }, TEMPLATES.map(([v, l]) => h('option', { value: v, text: l })));
      const result = h('p', { role: 'status', class: 'hint' });
      const btn = h('button', { type: 'button', class: 'btn' }, icon('mail'), 'Send test mail');
      btn.addEventListener('click', () => busy(btn, async () => {
        result.textContent = '';
        email.error.clear();
        if (!email.input.value.trim()) {
          email.error.show('Enter an address to send the test mail to.');
          email.input.focus();
          return;
        }
        try {
          await api('POST', '/api/settings/test/email', {
            body: { email: email.input.value.trim(), template: template.value, collection: '_superusers' },
          });
          result.textContent = `Test mail sent to ${email.input.value.trim()}. Save the settings first if you changed them.`;
        } catch (err) {
          result.textContent = `The test mail failed: ${err.message}`;
        }
      }));
      return group('Send a test mail', h('p', { class: 'hint', text: 'Uses the saved settings and a template of the superusers collection.' }),
        h('div', { class: 'field-row' }, email.el,
          h('div', { class: 'field' }, h('label', { for: templateId, text: 'Template' }), template)),
        h('div', { class: 'row' }, btn), result);
    }

    function testS3Box() {
      const result = h('p', { role: 'status', class: 'hint' });
      const btn = h('button', { type: 'button', class: 'btn' }, icon('refresh'), 'Test the connection');
      btn.addEventListener('click', () => busy(btn, async () => {
        result.textContent = '';
        try {
          await api('POST', '/api/settings/test/s3', { body: { filesystem: 'storage' } });
          result.textContent = 'The S3 connection works.';
        } catch (err) {
          result.textContent = err.status === 404
            ? 'This server cannot test S3 yet (its API has no S3 test endpoint).'
            : `The test failed: ${err.message}`;
        }
      }));
      return group('Check', h('div', { class: 'row' }, btn), result);
    }

    const saveBtn = h('button', { type: 'submit', class: 'btn primary', text: 'Save changes' });
    const form = h('form', {
      class: 'settings-form', novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        alert.replaceChildren();
        for (const s of slots.values()) s.clear();
        const patch = {};
        for (const key of section.keys) patch[key] = draft[key];
        await busy(saveBtn, async () => {
          try {
            await api('PATCH', '/api/settings', { body: patch });
            toast('Settings saved.');
            store.loadSettings();
          } catch (err) {
            const rest = [];
            let first = null;
            for (const [path, message] of err.fieldErrors()) {
              const slot = slots.get(path.join('.'));
              if (slot) {
                slot.show(message);
                first = first || slot;
              } else {
                rest.push(`${path.join('.')}: ${message}`);
              }
            }
            mount(alert, h('strong', { text: err.message }), rest.length ? h('ul', {}, rest.map((r) => h('li', { text: r }))) : null);
            const bad = form.querySelector('[aria-invalid="true"]');
            if (bad) bad.focus();
            else alert.scrollIntoView({ block: 'nearest' });
          }
        });
      },
    }, alert, content, h('div', { class: 'form-foot' }, saveBtn));
    // The test boxes sit outside the form: Enter in them must not save the settings.
    mount(body, form, extra ? h('div', { class: 'settings-form extra' }, extra) : null);
  }

  return () => { disposed = true; };
}
