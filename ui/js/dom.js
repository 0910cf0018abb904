// Small DOM helpers: element creation, icons and formatting. Everything the pages build goes
// through h(), which sets text with textContent, so API data never becomes markup.

const BOOLEAN_PROPS = new Set([
  'checked', 'disabled', 'hidden', 'multiple', 'readOnly', 'required', 'selected', 'open', 'indeterminate',
]);

// Set as attributes: read-only as properties (form, list) or only meaningful as markup.
const ATTRIBUTES = new Set(['role', 'form', 'list']);

/**
 * h('button', {class: 'btn', onclick: fn, 'aria-label': 'Close'}, 'text', child, [more])
 * Keys: class, text, on<event> (functions), aria-* / data-* / role (attributes), boolean
 * properties, and anything else as a property when the element has it, else an attribute.
 */
export function h(tag, props, ...children) {
  const svg = tag === 'svg' || tag === 'path' || tag === 'circle' || tag === 'rect';
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false && !BOOLEAN_PROPS.has(key)) continue;
    if (key === 'class') {
      el.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    } else if (key === 'text') {
      el.textContent = value;
    } else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (BOOLEAN_PROPS.has(key)) {
      el[key] = !!value;
    } else if (key.startsWith('aria-') || key.startsWith('data-') || ATTRIBUTES.has(key) || svg || !(key in el)) {
      el.setAttribute(key, value === true ? '' : String(value));
    } else {
      el[key] = value;
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uid = 0;
/** A document-unique id for label/aria wiring. */
export function nextId(prefix = 'id') {
  uid += 1;
  return `${prefix}-${uid}`;
}

// Icons: simple strokes on a 24x24 grid, drawn for this dashboard.
const ICONS = {
  plus: 'M12 5v14M5 12h14',
  search: 'M10.5 17a6.5 6.5 0 1 0 0-13 6.5 6.5 0 0 0 0 13zM15.5 15.5 20 20',
  sliders: 'M4 7h9M17 7h3M4 17h3M11 17h9M15 5v4M9 15v4',
  refresh: 'M19.5 12a7.5 7.5 0 1 1-2.2-5.3M19.5 4.5v4.5H15',
  trash: 'M4 7h16M9.5 11v6M14.5 11v6M6 7l1 13h10l1-13M9 7V4h6v3',
  close: 'M6 6l12 12M18 6 6 18',
  up: 'M6 15l6-6 6 6',
  down: 'M6 9l6 6 6-6',
  left: 'M15 6l-6 6 6 6',
  right: 'M9 6l6 6-6 6',
  menu: 'M4 6h16M4 12h16M4 18h16',
  logout: 'M14 4h5v16h-5M10 8l-4 4 4 4M6 12h10',
  folder: 'M3 6.5h6l2 2h10v10.5H3z',
  users: 'M9 11a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7zM3 20c.5-3.5 3-5.5 6-5.5s5.5 2 6 5.5M16 4.5a3.5 3.5 0 0 1 0 6.5M18 14.8c1.7.7 2.8 2.5 3 5.2',
  eye: 'M2.5 12S6 5.5 12 5.5 21.5 12 21.5 12 18 18.5 12 18.5 2.5 12 2.5 12zM12 14.5a2.5 2.5 0 1 0 0-5 2.5 2.5 0 0 0 0 5z',
  database: 'M4 6c0-1.7 3.6-3 8-3s8 1.3 8 3-3.6 3-8 3-8-1.3-8-3zM4 6v12c0 1.7 3.6 3 8 3s8-1.3 8-3V6M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3',
  gear: 'M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM12 2.5v3M12 18.5v3M2.5 12h3M18.5 12h3M5.3 5.3l2.1 2.1M16.6 16.6l2.1 2.1M5.3 18.7l2.1-2.1M16.6 7.4l2.1-2.1',
  lock: 'M6 11h12v9H6zM8.5 11V8a3.5 3.5 0 0 1 7 0v3',
  file: 'M6 3h8l4 4v14H6zM14 3v4h4',
  arrowUp: 'M12 19V5M6 11l6-6 6 6',
  arrowDown: 'M12 5v14M6 13l6 6 6-6',
  bolt: 'M13 3 5 14h6l-1 7 8-11h-6z',
  mail: 'M3 6h18v12H3zM3 7l9 6.5L21 7',
  check: 'M5 12.5l4.5 4.5L19 7.5',
};

export function icon(name, label) {
  const svg = h('svg', { class: 'icon', viewBox: '0 0 24 24', width: 24, height: 24 },
    h('path', { d: ICONS[name] || '' }));
  if (label) {
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', label);
  } else {
    svg.setAttribute('aria-hidden', 'true');
  }
  return svg;
}

/** The mark shown beside the product name. */
export function logoMark() {
  return h('svg', { class: 'mark', viewBox: '0 0 32 32', 'aria-hidden': 'true' },
    h('rect', { class: 'mark-bg', width: 32, height: 32, rx: 8 }),
    h('path', { class: 'mark-m', d: 'M8 23V9l8 8 8-8v14' }));
}

/** PocketBase dates ("2024-05-06 07:08:09.000Z") shown without the milliseconds. */
export function formatDate(value) {
  if (!value) return '';
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})/.exec(value);
  return m ? `${m[1]} ${m[2]} UTC` : String(value);
}

export function truncate(text, max = 80) {
  const s = String(text ?? '');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** Plain text of an HTML fragment (editor fields in table cells), parsed inertly. */
export function stripHtml(html) {
  const doc = new DOMParser().parseFromString(String(html ?? ''), 'text/html');
  return (doc.body.textContent || '').replace(/\s+/g, ' ').trim();
}

export function debounce(fn, ms) {
  let timer = 0;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

/** Marks a button busy while `work` runs. */
export async function busy(button, work) {
  const was = button.disabled;
  button.disabled = true;
  button.classList.add('busy');
  button.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    button.disabled = was;
    button.classList.remove('busy');
    button.removeAttribute('aria-busy');
  }
}

export function isImageName(name) {
  return /\.(png|jpe?g|gif|webp|avif|svg)$/i.test(name || '');
}

export function formatBytes(n) {
  if (!n) return '0 B';
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(v < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}
