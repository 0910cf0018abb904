// Shared widgets: dialogs (native <dialog>, so focus is trapped and Escape closes), confirmation,
// toasts, tabs and inline field errors.

import { h, icon, nextId } from './dom.js';

/**
 * Opens a dialog. kind: 'modal' (centered) or 'drawer' (right side). `build(close)` returns
 * {body, foot} nodes. Resolves with the value given to close() (undefined on Escape).
 */
export function openDialog({ title, kind = 'modal', wide = false, build, onCancel }) {
  const titleId = nextId('dlg-title');
  const dialog = h('dialog', { class: [kind, wide && 'wide'], 'aria-labelledby': titleId });
  let result;
  let resolve;
  const done = new Promise((r) => { resolve = r; });
  const close = (value) => {
    result = value;
    dialog.close();
  };
  const head = h('div', { class: 'dlg-head' },
    h('h2', { id: titleId, text: title }),
    h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Close', onclick: () => requestClose() },
      icon('close')));
  const requestClose = async () => {
    if (onCancel && (await onCancel()) === false) return;
    close(undefined);
  };
  const parts = build(close, dialog);
  dialog.append(head, h('div', { class: 'dlg-body' }, parts.body), parts.foot ? h('div', { class: 'dlg-foot' }, parts.foot) : null);
  dialog.addEventListener('cancel', (e) => {
    e.preventDefault();
    requestClose();
  });
  dialog.addEventListener('close', () => {
    dialog.remove();
    resolve(result);
  });
  document.body.append(dialog);
  dialog.showModal();
  const first = dialog.querySelector('[autofocus]') || dialog.querySelector('.dlg-body input:not([type=hidden]):not([disabled]), .dlg-body textarea, .dlg-body select');
  if (first) first.focus();
  return { dialog, done, close, setTitle: (t) => { head.querySelector('h2').textContent = t; } };
}

/**
 * Asks before something destructive. With `typeToConfirm`, the confirm button stays disabled
 * until that exact text is typed (deleting a collection).
 */
export function confirmDialog({ title, message, confirmLabel = 'Confirm', danger = true, typeToConfirm }) {
  const { done } = openDialog({
    title,
    build(close) {
      const confirm = h('button', { type: 'button', class: ['btn', danger ? 'danger solid' : 'primary'], text: confirmLabel, onclick: () => close(true) });
      let typed = null;
      if (typeToConfirm) {
        const id = nextId('confirm-type');
        confirm.disabled = true;
        typed = h('div', { class: 'field' },
          h('label', { for: id }, 'Type ', h('code', { text: typeToConfirm }), ' to confirm'),
          h('input', {
            id, autocomplete: 'off', spellcheck: false,
            oninput: (e) => { confirm.disabled = e.target.value !== typeToConfirm; },
            onkeydown: (e) => { if (e.key === 'Enter' && !confirm.disabled) close(true); },
          }));
      } else {
        confirm.autofocus = true;
      }
      return {
        body: h('div', { class: 'stack' }, h('p', { text: message }), typed),
        foot: [h('span', { class: 'spacer' }), h('button', { type: 'button', class: 'btn', text: 'Cancel', onclick: () => close(false) }), confirm],
      };
    },
  });
  return done.then((v) => v === true);
}

/** A short message in the corner; errors stay longer and are announced assertively. */
export function toast(message, kind = 'info') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const el = h('div', { class: ['toast', kind === 'error' && 'error'], role: kind === 'error' ? 'alert' : 'status', text: message });
  box.append(el);
  // Only the latest few stay on screen.
  while (box.children.length > 3) box.firstElementChild.remove();
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 3500);
}

/**
 * Tabs with arrow-key movement (the WAI-ARIA tabs pattern).
 * tabs: [{id, label}] ; returns {list, panels: {id: panelEl}, select(id), mark(id, hasError)}.
 */
export function tabs(items, { onSelect } = {}) {
  const base = nextId('tab');
  const list = h('div', { class: 'tabs', role: 'tablist' });
  const panels = {};
  const buttons = {};
  items.forEach((item, i) => {
    const btn = h('button', {
      type: 'button', role: 'tab', id: `${base}-${item.id}`, 'aria-controls': `${base}-${item.id}-panel`,
      'aria-selected': i === 0 ? 'true' : 'false', tabIndex: i === 0 ? 0 : -1,
      onclick: () => select(item.id),
      onkeydown: (e) => {
        const order = items.map((t) => t.id);
        const at = order.indexOf(item.id);
        let next = null;
        if (e.key === 'ArrowRight') next = order[(at + 1) % order.length];
        if (e.key === 'ArrowLeft') next = order[(at - 1 + order.length) % order.length];
        if (e.key === 'Home') next = order[0];
        if (e.key === 'End') next = order[order.length - 1];
        if (next) {
          e.preventDefault();
          select(next);
          buttons[next].focus();
        }
      },
    }, item.label, h('span', { class: 'tab-error', hidden: true, 'aria-label': '(has errors)', text: '●' }));
    buttons[item.id] = btn;
    list.append(btn);
    panels[item.id] = h('div', { role: 'tabpanel', id: `${base}-${item.id}-panel`, 'aria-labelledby': btn.id, hidden: i !== 0 });
  });
  function select(id) {
    for (const [key, btn] of Object.entries(buttons)) {
      const on = key === id;
      btn.setAttribute('aria-selected', on ? 'true' : 'false');
      btn.tabIndex = on ? 0 : -1;
      panels[key].hidden = !on;
    }
    if (onSelect) onSelect(id);
  }
  function mark(id, hasError) {
    const dot = buttons[id]?.querySelector('.tab-error');
    if (dot) dot.hidden = !hasError;
  }
  return { list, panels, select, mark };
}

/**
 * Wires an input to an error line: show(message) sets aria-invalid and the text, clear() undoes.
 */
export function errorSlot(input) {
  const id = nextId('err');
  const el = h('p', { class: 'error-text', id, role: 'alert' });
  const describedBy = () => (input.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && x !== id);
  return {
    el,
    show(message) {
      el.textContent = message || '';
      if (!input) return;
      if (message) {
        input.setAttribute('aria-invalid', 'true');
        input.setAttribute('aria-describedby', [...describedBy(), id].join(' '));
      } else {
        this.clear();
      }
    },
    clear() {
      el.textContent = '';
      if (!input) return;
      input.removeAttribute('aria-invalid');
      const rest = describedBy();
      if (rest.length) input.setAttribute('aria-describedby', rest.join(' '));
      else input.removeAttribute('aria-describedby');
    },
  };
}

/** A labelled form control with optional hint and error line. */
export function formField({ label, input, hint, required, wide }) {
  const id = input.id || nextId('f');
  input.id = id;
  const err = errorSlot(input);
  let hintEl = null;
  if (hint) {
    hintEl = h('p', { class: 'hint', id: nextId('hint'), text: hint });
    input.setAttribute('aria-describedby', hintEl.id);
  }
  const el = h('div', { class: ['field', wide && 'wide'] },
    h('label', { for: id }, label, required ? h('span', { class: 'required-mark', 'aria-hidden': 'true', text: '*' }) : null),
    input, hintEl, err.el);
  return { el, input, error: err };
}

/** A checkbox with its label to the right. */
export function checkbox(label, checked, onchange, extra = {}) {
  const input = h('input', { type: 'checkbox', checked: !!checked, onchange: (e) => onchange && onchange(e.target.checked), ...extra });
  return { el: h('label', { class: 'check' }, input, label), input };
}
