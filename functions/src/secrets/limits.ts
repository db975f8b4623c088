/** Bounds on what the secret cache keeps in memory (the time bounds are in shared/budget.ts). */
export const SECRET_LIMITS = Object.freeze({
  /**
   * Values kept at once, least recently used dropped first. Values are small
   * (passwords and keys; Secret Manager holds at most 64 KiB in one), so this
   * only keeps an instance that sends for many tenants from growing without
   * end; it is well above the two or three secrets each of a few hundred
   * profiles in use within SECRET_CACHE_TTL_MS names.
   */
  cachedValues: 500,
});
