// What several screens share: the collections (for the sidebar, relation pickers and rule
// hints) and the application settings the shell shows (name, hidden controls).

import { api, listAll } from './api.js';

const watchers = new Set();

export const store = {
  collections: [],
  settings: null,

  async loadCollections() {
    this.collections = await listAll('/api/collections', { sort: 'name' });
    this.notify();
    return this.collections;
  },

  async loadSettings() {
    try {
      this.settings = await api('GET', '/api/settings');
    } catch {
      this.settings = null;
    }
    this.notify();
    return this.settings;
  },

  byName(name) {
    return this.collections.find((c) => c.name === name) || null;
  },

  byIdOrName(key) {
    return this.collections.find((c) => c.id === key || c.name === key) || null;
  },

  get appName() {
    return this.settings?.meta?.appName || 'Motorbase';
  },

  /** PocketBase's "hide collection create and edit controls" setting. */
  get hideControls() {
    return !!this.settings?.meta?.hideControls;
  },

  watch(fn) {
    watchers.add(fn);
    return () => watchers.delete(fn);
  },

  notify() {
    for (const fn of watchers) fn(this);
  },

  reset() {
    this.collections = [];
    this.settings = null;
  },
};
