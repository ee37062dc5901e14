// The part of a tap test that support functions need: somewhere to register clean-up.

/** A tap Test (or anything with teardown): functions registered run when the test ends, last first. */
export interface Teardown {
  teardown(fn: () => unknown): void
}
