// Which Postgres errors are worth retrying. Imports nothing, so the writer thread loads it too.

/**
 * SQLSTATE classes whose errors depend on the data a transaction writes, so that the same
 * transaction fails the same way however often it runs (PostgreSQL manual, Appendix A):
 * 22 data_exception (numeric_value_out_of_range 22003, invalid_text_representation 22P02,
 * an exception a trigger raises with such a code…) and 23 integrity_constraint_violation
 * (check_violation 23514, not_null_violation 23502, unique_violation 23505…).
 * docs/contract.md, Postgres: "A commit that Postgres refuses for a deterministic reason (data
 * exception, constraint) is never retried in a loop".
 */
export const DETERMINISTIC_SQLSTATE_CLASSES: readonly string[] = ['22', '23']

/**
 * How to handle an error of a Postgres transaction:
 * - 'deterministic': SQLSTATE class 22 or 23, retrying the same data cannot succeed;
 * - 'transient': everything else, retried with backoff. That is what goes away by itself
 *   (connection errors without a SQLSTATE such as ECONNRESET or "Connection terminated",
 *   class 08 connection_exception, 40001 serialization_failure, 40P01 deadlock_detected,
 *   55P03 lock_not_available, class 57 operator intervention (57P01 admin_shutdown, 57014
 *   statement timeout), class 53 insufficient_resources), and also what an operator repairs
 *   without a restart and regardless of the data (a revoked privilege, 42501; a table
 *   renamed by hand, 42P01): retrying those does not fail the same data forever.
 */
export type PgErrorKind = 'transient' | 'deterministic'

/**
 * The error's SQLSTATE (5 characters) when Postgres sent one, else null (a network or client
 * error). A server error (pg's DatabaseError) carries a severity besides its code; Node's own
 * codes (EPIPE…) do not.
 */
export function sqlState(err: unknown): string | null {
  const e = err as { code?: unknown; severity?: unknown } | null
  return typeof e?.code === 'string' && typeof e.severity === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : null
}

/** Classifies an error thrown by a pg query (see PgErrorKind). */
export function pgErrorKind(err: unknown): PgErrorKind {
  const state = sqlState(err)
  return state !== null && DETERMINISTIC_SQLSTATE_CLASSES.includes(state.slice(0, 2)) ? 'deterministic' : 'transient'
}
