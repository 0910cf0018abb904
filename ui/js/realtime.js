// Live updates over PocketBase's realtime protocol: one EventSource on /api/realtime; its first
// event (PB_CONNECT) names the client, and a POST with the superuser's token sets the topics.
// The browser reconnects by itself; every new PB_CONNECT re-sends the topics.

import { api } from './api.js';

const listeners = new Map(); // topic -> Set<callback>
const statusListeners = new Set();
let source = null;
let clientId = '';
let status = 'off'; // off | connecting | live | offline
let submitTimer = 0;

function setStatus(next) {
  status = next;
  for (const fn of statusListeners) fn(status);
}

function connect() {
  if (source) return;
  setStatus('connecting');
  source = new EventSource('/api/realtime');
  source.addEventListener('PB_CONNECT', (e) => {
    try {
      clientId = JSON.parse(e.data).clientId || '';
    } catch {
      clientId = '';
    }
    submit();
  });
  source.addEventListener('error', () => {
    clientId = '';
    setStatus('offline');
    // A refused stream is not retried by the browser; try again a little later.
    if (source && source.readyState === EventSource.CLOSED) {
      source = null;
      setTimeout(() => { if (listeners.size && !source) connect(); }, 3000);
    }
  });
  for (const topic of listeners.keys()) source.addEventListener(topic, dispatch);
}

function dispatch(e) {
  let msg;
  try {
    msg = JSON.parse(e.data);
  } catch {
    return;
  }
  for (const fn of listeners.get(e.type) || []) fn(msg);
}

function submit() {
  clearTimeout(submitTimer);
  submitTimer = setTimeout(async () => {
    if (!clientId) return;
    try {
      await api('POST', '/api/realtime', { body: { clientId, subscriptions: [...listeners.keys()] } });
      setStatus('live');
    } catch {
      setStatus('offline');
    }
  }, 20);
}

/** Calls `fn({action, record})` for each event on `topic` (e.g. "posts/*"); returns an unsubscribe. */
export function subscribe(topic, fn) {
  const isNew = !listeners.has(topic);
  if (isNew) listeners.set(topic, new Set());
  listeners.get(topic).add(fn);
  if (!source) {
    connect();
  } else if (isNew) {
    source.addEventListener(topic, dispatch);
    submit();
  }
  return () => {
    const set = listeners.get(topic);
    if (!set) return;
    set.delete(fn);
    if (set.size) return;
    listeners.delete(topic);
    if (source) source.removeEventListener(topic, dispatch);
    if (!listeners.size) disconnect();
    else submit();
  };
}

export function disconnect() {
  clearTimeout(submitTimer);
  listeners.clear();
  if (source) source.close();
  source = null;
  clientId = '';
  setStatus('off');
}

/** Follows the connection's state; returns an unsubscribe. */
export function onStatus(fn) {
  statusListeners.add(fn);
  fn(status);
  return () => statusListeners.delete(fn);
}
