// Names of the things a test or benchmark creates on the shared broker and Postgres.
import { randomBytes } from 'node:crypto'

/**
 * `${prefix}_<time base36>_<6 hex>`: unique across runs and processes, and a valid topic,
 * consumer group and (with a lower-case prefix) unquoted Postgres identifier.
 */
export const uniqueName = (prefix: string) => `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`
