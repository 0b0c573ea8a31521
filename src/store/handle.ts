/**
 * The embedded store's interface lives in model/store-api.ts, below core/ (plugins receive a
 * StoreHandle in their context and core/ must not import the store); this module keeps the store's
 * own name for it.
 */
export * from '../model/store-api.js';
