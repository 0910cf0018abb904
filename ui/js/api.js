// The HTTP API as the dashboard uses it: PocketBase's contract, called with fetch. The signed-in
// superuser's token is kept in localStorage so a reload stays signed in.

const STORAGE_KEY = 'motorbase.dashboard.auth';
export const SUPERUSERS = '_superusers';

/** An API answer that was not 2xx, in PocketBase's error shape. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || (status === 0
      ? 'Cannot reach the server. Is `motorbase serve` still running?'
      : `The server answered ${status}.`));
    this.status = status;
    this.data = body && typeof body.data === 'object' && body.data ? body.data : {};
  }

  /** The `{code, message}` at a path into `data`, e.g. at('fields', 2, 'name'). */
  at(...path) {
    let node = this.data;
    for (const key of path) {
      if (!node || typeof node !== 'object') return null;
      node = node[key];
    }
    return node && typeof node.message === 'string' ? node : null;
  }

  /** Every field error as [path, message] pairs, in document order. */
  fieldErrors() {
    const out = [];
    const walk = (node, path) => {
      if (!node || typeof node !== 'object') return;
      if (typeof node.message === 'string' && typeof node.code === 'string') {
        out.push([path, node.message]);
        return;
      }
      for (const [k, v] of Object.entries(node)) walk(v, [...path, k]);
    };
    walk(this.data, []);
    return out;
  }
}

/** Reads a JWT's payload without checking it (the server checks; we only read `exp`). */
export function decodeToken(token) {
  try {
    const part = String(token).split('.')[1] || '';
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const json = atob(b64.padEnd(Math.ceil(b64.length / 4) * 4, '='));
    return JSON.parse(decodeURIComponent(Array.from(json, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('')));
  } catch {
    return null;
  }
}

export const session = {
  token: '',
  record: null,

  load() {
    try {
      const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) || 'null');
      if (saved && typeof saved.token === 'string') {
        this.token = saved.token;
        this.record = saved.record || null;
      }
    } catch {
      this.clear();
    }
  },

  save(token, record) {
    this.token = token;
    this.record = record;
    localStorage.setItem(STORAGE_KEY, JSON.stringify({ token, record }));
  },

  clear() {
    this.token = '';
    this.record = null;
    localStorage.removeItem(STORAGE_KEY);
  },

  /** A superuser token that has not expired yet. */
  get valid() {
    const claims = decodeToken(this.token);
    return !!claims && claims.type === 'auth' && claims.exp * 1000 > Date.now();
  },
};

let onSessionEnded = () => {};
/** Called when a signed-in request is answered 401: the token was revoked or expired. */
export function setSessionEndedHandler(fn) {
  onSessionEnded = fn;
}

/**
 * api('GET', '/api/collections', {query: {perPage: 100}})
 * Sends JSON (or FormData as multipart), adds the token, and throws ApiError on failure.
 */
export async function api(method, path, { query, body, signal, auth = true } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  const headers = {};
  if (auth && session.token) headers.Authorization = session.token;
  let payload;
  if (body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, { method, headers, body: payload, signal });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, null);
  }
  const text = res.status === 204 ? '' : await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    if (res.status === 401 && auth && session.token) onSessionEnded(err);
    throw err;
  }
  return data;
}

/** Every page of a list endpoint. */
export async function listAll(path, query = {}) {
  const items = [];
  for (let page = 1; ; page += 1) {
    const res = await api('GET', path, { query: { ...query, page, perPage: 500 } });
    items.push(...(res.items || []));
    if (page >= (res.totalPages || 1) || !(res.items || []).length) return items;
  }
}

export async function signIn(email, password) {
  const res = await api('POST', `/api/collections/${SUPERUSERS}/auth-with-password`, {
    body: { identity: email, password },
    auth: false,
  });
  session.save(res.token, res.record);
  return res;
}

/** Renews the token (and reloads the superuser record); ends the session when refused. */
export async function refreshSession() {
  const res = await api('POST', `/api/collections/${SUPERUSERS}/auth-refresh`);
  session.save(res.token, res.record);
  return res;
}

/** Quotes text for use inside a filter string. */
export function filterString(text) {
  return `"${String(text).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function recordsPath(collection, id) {
  const base = `/api/collections/${encodeURIComponent(collection)}/records`;
  return id ? `${base}/${encodeURIComponent(id)}` : base;
}

export function fileUrl(collection, record, filename, { thumb, token } = {}) {
  const url = new URL(`/api/files/${encodeURIComponent(collection.id)}/${encodeURIComponent(record.id)}/${encodeURIComponent(filename)}`,
    window.location.origin);
  if (thumb) url.searchParams.set('thumb', thumb);
  if (token) url.searchParams.set('token', token);
  return url.pathname + url.search;
}

let fileToken = { value: '', expires: 0 };
/** A short-lived token for protected files; '' when the server has none to give. */
export async function getFileToken() {
  if (fileToken.value && fileToken.expires > Date.now() + 10_000) return fileToken.value;
  try {
    const res = await api('POST', '/api/files/token');
    const claims = decodeToken(res?.token);
    fileToken = { value: res?.token || '', expires: claims ? claims.exp * 1000 : 0 };
  } catch {
    fileToken = { value: '', expires: 0 };
  }
  return fileToken.value;
}
