import { createHistogram, performance } from 'node:perf_hooks'
import { getHeapStatistics } from 'node:v8'
import { BroadcastChannel, threadId } from 'node:worker_threads'
import { THREAD_STATS_CHANNEL, type ThreadCounter, type ThreadStats } from './protocol.js'

// Event-loop delay, busy time and heap of the calling thread. Every thread samples itself:
// a worker's event loop and V8 isolate are invisible from the main thread.

export const THREAD_STATS_INTERVAL_MS = 1000
const TICK_MS = 10

const counts: Partial<Record<ThreadCounter, number>> = {}

/** Counts an event of this thread; the next ThreadStats report carries the running total. */
export function countInThread(counter: ThreadCounter, n = 1): void {
  counts[counter] = (counts[counter] ?? 0) + n
}

/** Returns a function that reports this thread's stats since its previous call. */
export function threadSampler(thread: string): () => ThreadStats {
  // Our own tick rather than monitorEventLoopDelay: that one forgets the stall in progress
  // when its histogram is reset, which is exactly when a busy thread's report runs.
  const delay = createHistogram()
  let last = performance.now()
  setInterval(() => {
    const now = performance.now()
    delay.record(Math.max(1, Math.round((now - last - TICK_MS) * 1e6)))
    last = now
  }, TICK_MS).unref()
  return () => {
    const heap = getHeapStatistics()
    // 1 ns is the floor record() accepts: report it as 0; an interval without a tick reports 0 too.
    const lagMs = (ns: number) => (delay.count === 0 || ns <= 1 ? 0 : ns / 1e6)
    const stats: ThreadStats = {
      thread,
      threadId,
      busyMs: performance.eventLoopUtilization().active,
      lagP99Ms: lagMs(delay.percentile(99)),
      lagMaxMs: lagMs(delay.max),
      heapUsedBytes: heap.used_heap_size,
      heapTotalBytes: heap.total_heap_size,
      counts: { ...counts },
    }
    delay.reset()
    return stats
  }
}

/** In a worker thread: posts its ThreadStats on THREAD_STATS_CHANNEL every interval, without keeping the thread alive. */
export function reportThreadStats(thread: string): void {
  const sample = threadSampler(thread)
  const channel = new BroadcastChannel(THREAD_STATS_CHANNEL)
  channel.unref()
  setInterval(() => channel.postMessage(sample()), THREAD_STATS_INTERVAL_MS).unref()
}
