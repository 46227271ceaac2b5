/**
 * Constants of the `sql` step that callers (tests, docs) read without loading `pg`.
 */

/** How long the server gets to confirm a cancel before the session is terminated. */
export const CANCEL_GRACE_MS = 3_000;
