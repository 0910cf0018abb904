// A small rich-text editor for `editor` fields: a toolbar over a contenteditable area, with an
// HTML source view. Stored HTML is sanitised before it is shown, so markup saved by any API
// caller cannot run script in the dashboard.

import { h } from './dom.js';

const ALLOWED = new Set(['P', 'BR', 'B', 'STRONG', 'I', 'EM', 'U', 'S', 'A', 'UL', 'OL', 'LI',
  'H1', 'H2', 'H3', 'H4', 'BLOCKQUOTE', 'CODE', 'PRE', 'SPAN', 'DIV', 'HR']);
const DROPPED = new Set(['SCRIPT', 'STYLE', 'IFRAME', 'OBJECT', 'EMBED', 'TEMPLATE', 'NOSCRIPT', 'SVG', 'MATH']);

function safeHref(href) {
  return /^(https?:|mailto:|\/|#)/i.test(href.trim()) ? href : null;
}

/** A fragment holding `html` with only harmless elements and attributes. */
export function sanitize(html) {
  // A separate document: nothing in it loads or runs while it is parsed.
  const doc = new DOMParser().parseFromString(`<body>${html || ''}</body>`, 'text/html');
  const out = document.createDocumentFragment();
  const copy = (node, into) => {
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) {
        into.append(document.createTextNode(child.textContent));
      } else if (child.nodeType === Node.ELEMENT_NODE) {
        if (DROPPED.has(child.tagName)) continue;
        if (!ALLOWED.has(child.tagName)) {
          copy(child, into);
          continue;
        }
        const el = document.createElement(child.tagName.toLowerCase());
        if (child.tagName === 'A') {
          const href = safeHref(child.getAttribute('href') || '');
          if (href) el.setAttribute('href', href);
          el.setAttribute('rel', 'noopener noreferrer');
        }
        copy(child, el);
        into.append(el);
      }
    }
  };
  copy(doc.body, out);
  return out;
}

/** Builds the editor; `value()` returns the edited HTML. */
export function richText({ id, label, html }) {
  const area = h('div', {
    id, class: 'richtext-area', contentEditable: 'true', role: 'textbox',
    'aria-multiline': 'true', 'aria-label': label, spellcheck: true,
  });
  area.append(sanitize(html));
  const source = h('textarea', { class: 'code', rows: 8, hidden: true, 'aria-label': `${label} (HTML)` });
  let sourceMode = false;
  const command = (name, arg) => {
    area.focus();
    document.execCommand(name, false, arg);
  };
  const tool = (text, title, run) => h('button', {
    type: 'button', class: 'btn small', title, 'aria-label': title, text,
    // Keep the selection in the text while the button is pressed.
    onmousedown: (e) => e.preventDefault(),
    onclick: run,
  });
  const tools = [
    tool('B', 'Bold', () => command('bold')),
    tool('I', 'Italic', () => command('italic')),
    tool('•', 'Bulleted list', () => command('insertUnorderedList')),
    tool('1.', 'Numbered list', () => command('insertOrderedList')),
    tool('🔗', 'Link', () => {
      const href = safeHref(window.prompt('Link address (https://…)') || '');
      if (href) command('createLink', href);
    }),
  ];
  const toggle = h('button', {
    type: 'button', class: 'btn small', text: 'HTML', 'aria-pressed': 'false', title: 'Edit the HTML',
    onclick: () => {
      sourceMode = !sourceMode;
      if (sourceMode) {
        source.value = area.innerHTML;
      } else {
        area.replaceChildren(sanitize(source.value));
      }
      area.hidden = sourceMode;
      source.hidden = !sourceMode;
      tools.forEach((t) => { t.disabled = sourceMode; });
      toggle.setAttribute('aria-pressed', String(sourceMode));
      (sourceMode ? source : area).focus();
    },
  });
  const el = h('div', { class: 'richtext' },
    h('div', { class: 'richtext-tools', role: 'toolbar', 'aria-label': `${label} formatting` }, ...tools, toggle),
    area, source);
  return {
    el,
    focusTarget: area,
    value: () => (sourceMode ? source.value : area.innerHTML),
  };
}
