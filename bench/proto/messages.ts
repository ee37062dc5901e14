import type { AssignDecision } from './assigner.js'

// What the prototype's main thread and its actors (bench/proto/actor.ts) share.

/** workerData of a prototype actor. */
export interface ProtoActorData {
  index: number
  /** Slot in the shared counters (a replacement gets a new one). */
  slot: number
  process: string
  groupId: string
  topic: string
  brokers: string[]
  sessionTimeout: number
  heartbeatInterval: number
  /** Records parsed between two heartbeat() calls: the bound on work per turn. */
  chunk: number
  /** Kafka offset commits (crash runs resume where the group was, not at offset 0). */
  autoCommit: boolean
  /** Int32: [slot] records parsed, then [64 + partition] next offset read. */
  progress: SharedArrayBuffer
}

/** Messages an actor posts to the main thread (t: Date.now() in the actor). */
export type ActorEvent =
  | { type: 'join'; slot: number; t: number; memberId: string; partitions: number[]; isLeader: boolean }
  | { type: 'assign'; slot: number; t: number; decision: AssignDecision }
  | { type: 'rebalancing'; slot: number; t: number }
  | { type: 'request'; slot: number; t: number; api: string; sentAt: number; duration: number }
  | { type: 'crash'; slot: number; t: number; error: string }
  | { type: 'log'; slot: number; batches: [start: number, end: number, partition: number, records: number][]; heartbeats: number[] }

/** Index of partition 0 in the progress counters. */
export const PARTITION_BASE = 64
