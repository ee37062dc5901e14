// The typed send side of the thread protocol (src/pipeline/serial-worker.ts, clients.ts): each
// client method sends the task of its name, the batch's buffer is transferred, and a task that
// does not match src/shared/protocol.ts does not compile (the @ts-expect-error lines below fail
// `npm run lint` if it ever does).
import t from 'tap'
import { ActorClient, WriterClient, type ActorWorker, type WriterWorker } from '../../src/pipeline/clients.js'
import type { SerialWorker } from '../../src/pipeline/serial-worker.js'
import type {
  ActorMessage,
  ActorReplies,
  CommitResult,
  Flush,
  TaskHandlers,
  WriterMessage,
  WriterReplies,
} from '../../src/shared/protocol.js'

/** Records every task and its transfer list; answers as a thread would. */
function fakeWorker(reply: (task: { type: string }) => unknown) {
  const sent: { task: { type: string }; transferList: ArrayBuffer[] | undefined }[] = []
  const worker = {
    run: async (task: { type: string }, transferList?: ArrayBuffer[]) => {
      sent.push({ task, transferList })
      return reply(task)
    },
  }
  return { sent, worker }
}

t.test('ActorClient sends one task per method, and transfers the batch buffer', async (t) => {
  const { sent, worker } = fakeWorker(
    (task) => ({ batch: 3, flush: { partitions: [] }, release: { partitions: [] }, advance: 1 })[task.type] ?? null,
  )
  const actor = new ActorClient(worker as unknown as ActorWorker)
  const buffer = new ArrayBuffer(8)
  t.equal(await actor.assign({ partition: 1, epoch: '2', nextOffset: '10', maxEventMs: null, idleWatermarkMs: null }), null)
  t.equal(await actor.batch(1, '2', buffer), 3)
  t.same(await actor.flush(), { partitions: [] })
  t.same(await actor.release(1), { partitions: [] })
  t.equal(await actor.advance({ partition: 1, epoch: '2', fromOffset: '10', idleWatermarkMs: 0 }), 1)
  t.same(
    sent.map((s) => s.task),
    [
      { type: 'assign', partition: 1, epoch: '2', nextOffset: '10', maxEventMs: null, idleWatermarkMs: null },
      { type: 'batch', partition: 1, epoch: '2', buffer },
      { type: 'flush' },
      { type: 'release', partition: 1 },
      { type: 'advance', partition: 1, epoch: '2', fromOffset: '10', idleWatermarkMs: 0 },
    ],
  )
  t.equal(sent[1]!.transferList?.[0], buffer, 'the batch buffer is in the transfer list')
  t.same(
    sent.filter((s) => s.transferList).map((s) => s.task.type),
    ['batch'],
    'nothing else is transferred',
  )
})

t.test('WriterClient sends COMMIT', async (t) => {
  const { sent, worker } = fakeWorker(() => ({ committed: [] }))
  const writer = new WriterClient(worker as unknown as WriterWorker)
  await writer.commit({ topic: 't', partitionCount: 2, flushes: [], idle: [] })
  t.same(sent[0]!.task, { type: 'commit', topic: 't', partitionCount: 2, flushes: [], idle: [] })
})

t.test('a wrong task or reply type does not compile', async (t) => {
  // Never called: only what the compiler says about these lines matters.
  const checks = (actor: SerialWorker<ActorMessage, ActorReplies>, writer: SerialWorker<WriterMessage, WriterReplies>) => {
    const buffer = new ArrayBuffer(0)
    const flush: Promise<Flush> = actor.run({ type: 'flush' })
    const records: Promise<number> = actor.run({ type: 'batch', partition: 0, epoch: '1', buffer }, [buffer])
    const commit: Promise<CommitResult> = writer.run({ type: 'commit', topic: 't', partitionCount: 1, flushes: [], idle: [] })
    // @ts-expect-error -- the reply of FLUSH is a Flush, not a number
    const wrongReply: Promise<number> = actor.run({ type: 'flush' })
    // @ts-expect-error -- epoch is a decimal string
    void actor.run({ type: 'batch', partition: 0, epoch: 1, buffer })
    // @ts-expect-error -- BATCH without its buffer
    void actor.run({ type: 'batch', partition: 0, epoch: '1' })
    // @ts-expect-error -- FLUSH takes no partition
    void actor.run({ type: 'flush', partition: 0 })
    // @ts-expect-error -- no such task
    void actor.run({ type: 'flsuh' })
    // @ts-expect-error -- an actor task sent to the writer
    void writer.run({ type: 'flush' })
    // @ts-expect-error -- nextOffset is a decimal string, never a JS number
    void new ActorClient(actor).assign({ partition: 0, epoch: '1', nextOffset: 10, maxEventMs: null, idleWatermarkMs: null })
    return [flush, records, commit, wrongReply]
  }
  t.type(checks, 'function')
  // The receive side (workers/window-actor.ts): each handler must answer with its own task's reply.
  const handlers: Pick<TaskHandlers<ActorMessage, ActorReplies>, 'batch' | 'flush'> = {
    // @ts-expect-error -- BATCH answers with the records read, not a Flush
    batch: () => ({ partitions: [] }),
    // @ts-expect-error -- FLUSH answers with a Flush, not a count
    flush: () => 0,
  }
  t.type(handlers, 'object')
})
