// Unit tests for src/cli.ts and src/config.ts against docs/contract.md, "Programs" and "Configuration".
import os from 'node:os'
import t, { type Test } from 'tap'
import { int, list, parseOptions, text, usage, UsageError, type Options } from '../../src/cli.js'
import { MAX_FLUSH_RECORDS, MAX_REJECTED_PAYLOAD_BYTES, MAX_REJECTED_RETENTION_DAYS, supervisorOptions } from '../../src/config.js'

const parse = (argv: string[] = [], env: NodeJS.ProcessEnv = {}) => parseOptions(supervisorOptions, argv, env)
const parsed = (argv: string[] = [], env: NodeJS.ProcessEnv = {}) => {
  const v = parse(argv, env)
  if (v === null) throw new Error('unexpected --help')
  return v
}

/** Calls fn and returns the UsageError it throws (fails the test otherwise). */
function usageError(t: Test, fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    t.ok(err instanceof UsageError, 'throws a UsageError')
    return (err as Error).message
  }
  t.fail('expected a UsageError')
  return ''
}

t.test('defaults match the contract', async (t) => {
  const v = parsed()
  t.same(v.kafkaBrokers, ['127.0.0.1:9092'])
  t.equal(v.kafkaTopic, 'transactions')
  t.equal(v.kafkaGroupId, 'tumbler')
  t.equal(v.topicPartitions, 6)
  t.equal(v.databaseUrl, 'postgresql://postgres@127.0.0.1:5432/tumbler')
  t.equal(v.httpHost, '127.0.0.1')
  t.equal(v.httpPort, 8501)
  t.equal(v.windowSeconds, 60)
  t.equal(v.latenessSeconds, 60)
  t.equal(v.futureSeconds, 300)
  t.equal(v.timestampDefaultZone, 'UTC')
  t.equal(v.actors, os.availableParallelism())
  t.equal(v.flushMs, 250)
  t.equal(v.logLevel, 'info')
  t.equal(v.wsMaxClients, 1000, 'not in the contract: issue 9')
  t.equal(parsed(['--ws-max-clients', '3']).wsMaxClients, 3)
})

t.test('env is read; argv wins over env', async (t) => {
  const env = { FLUSH_MS: '500', WINDOW_SECONDS: '30', KAFKA_BROKERS: 'a:1, b:2 ,,c:3', HTTP_PORT: '9000' }
  const v = parsed([], env)
  t.equal(v.flushMs, 500)
  t.equal(v.windowSeconds, 30)
  t.same(v.kafkaBrokers, ['a:1', 'b:2', 'c:3'], 'list trims and drops empty items')
  t.equal(v.httpPort, 9000)
  const w = parsed(['--flush-ms', '750', '--window-seconds=15', '--kafka-brokers', 'x:9'], env)
  t.equal(w.flushMs, 750, '--flush-ms VALUE beats FLUSH_MS')
  t.equal(w.windowSeconds, 15, '--window-seconds=VALUE beats WINDOW_SECONDS')
  t.same(w.kafkaBrokers, ['x:9'])
  t.equal(w.httpPort, 9000, 'env kept where argv says nothing')
  t.equal(parsed(['--flush-ms', '100', '--flush-ms', '200']).flushMs, 200, 'the last flag wins')
  t.equal(parsed([], { FLUSH_MS: '' }).flushMs, 250, 'an empty variable means the default')
  t.equal(parsed([], { FLUSH_MS: ' 300 ' }).flushMs, 300, 'surrounding spaces are fine')
  t.equal(parsed([], { KAFKA_TOPIC: '  orders  ' }).kafkaTopic, 'orders', 'text is trimmed')
  t.equal(parsed(['--faults', 'actor0:batch:40']).faults, 'actor0:batch:40')
  t.equal(parsed([], { TUMBLER_FAULTS: 'writer:commit:3' }).faults, 'writer:commit:3')
  t.equal(parsed(['--log-level', 'debug']).logLevel, 'debug')
})

t.test('--help and -h return null', async (t) => {
  t.equal(parse(['--help']), null)
  t.equal(parse(['-h']), null)
  t.equal(parse(['--flush-ms', '300', '--help']), null, 'after other options')
  // docs/contract.md, "Programs": every program's --help prints its options. A bad variable in the
  // environment should not turn --help into an exit 2.
  let result: unknown
  try {
    result = parse(['--help'], { FLUSH_MS: 'abc' })
  } catch (err) {
    result = err
  }
  t.equal(result, null, '--help with a bad env variable still returns null')
})

t.test('unknown options name themselves', async (t) => {
  t.match(
    usageError(t, () => parse(['--nope'])),
    /unknown option --nope/,
  )
  t.match(
    usageError(t, () => parse(['--nope=1'])),
    /--nope=1/,
  )
  t.match(
    usageError(t, () => parse(['stray'])),
    /unknown option stray/,
    'positional argument',
  )
  t.match(
    usageError(t, () => parse(['-x'])),
    /unknown option -x/,
  )
  t.match(
    usageError(t, () => parse(['--FLUSH-MS', '1'])),
    /unknown option --FLUSH-MS/,
    'flags are lower case',
  )
  t.match(
    usageError(t, () => parse(['--flush_ms', '1'])),
    /unknown option --flush_ms/,
  )
  t.match(
    usageError(t, () => parse(['--flush-ms'])),
    /--flush-ms needs a value/,
  )
})

t.test('bad values name the variable or flag', async (t) => {
  t.match(
    usageError(t, () => parse([], { FLUSH_MS: 'abc' })),
    /FLUSH_MS/,
  )
  t.match(
    usageError(t, () => parse([], { FLUSH_MS: 'abc' })),
    /invalid FLUSH_MS: expected an integer, got "abc"/,
  )
  t.match(
    usageError(t, () => parse(['--flush-ms', 'abc'])),
    /invalid --flush-ms/,
  )
  t.match(
    usageError(t, () => parse(['--flush-ms=1.5'])),
    /--flush-ms.*integer/,
  )
  t.match(
    usageError(t, () => parse([], { FLUSH_MS: '5' })),
    /FLUSH_MS.*10\.\.60000/,
    'below the minimum',
  )
  t.match(
    usageError(t, () => parse([], { HTTP_PORT: '65536' })),
    /HTTP_PORT/,
  )
  t.match(
    usageError(t, () => parse([], { WINDOW_SECONDS: '0' })),
    /WINDOW_SECONDS/,
  )
  t.match(
    usageError(t, () => parse([], { WINDOW_SECONDS: '1e3' })),
    /WINDOW_SECONDS/,
    'no exponent form',
  )
  t.match(
    usageError(t, () => parse([], { ACTORS: '0' })),
    /ACTORS/,
  )
  t.match(
    usageError(t, () => parse([], { KAFKA_BROKERS: ' , ' })),
    /KAFKA_BROKERS.*at least one/,
  )
  t.match(
    usageError(t, () => parse([], { KAFKA_TOPIC: '   ' })),
    /KAFKA_TOPIC.*empty/,
  )
  t.match(
    usageError(t, () => parse([], { LOG_LEVEL: 'verbose' })),
    /LOG_LEVEL/,
    'a plain Error from a parser becomes a UsageError',
  )
  t.match(
    usageError(t, () => parse(['--log-level', 'INFO'])),
    /--log-level/,
  )
  t.match(
    usageError(t, () => parse([], { LATENESS_SECONDS: '-1' })),
    /LATENESS_SECONDS/,
  )
  t.match(
    usageError(t, () => parse([], { WS_MAX_CLIENTS: '0' })),
    /invalid WS_MAX_CLIENTS: expected 1\.\./,
  )
  t.match(
    usageError(t, () => parse(['--ws-max-clients', 'many'])),
    /invalid --ws-max-clients/,
  )
  t.match(
    usageError(t, () => parse([], { TIMESTAMP_DEFAULT_ZONE: 'Mars/Base' })),
    /^invalid TIMESTAMP_DEFAULT_ZONE: "Mars\/Base" is neither an IANA time zone/,
  )
  t.match(
    usageError(t, () => parse(['--timestamp-default-zone', '+19:00'])),
    /invalid --timestamp-default-zone: "\+19:00"/,
  )
})

t.test('TIMESTAMP_DEFAULT_ZONE: an IANA name or a fixed offset, in its canonical spelling', async (t) => {
  t.equal(parsed([], { TIMESTAMP_DEFAULT_ZONE: 'europe/paris' }).timestampDefaultZone, 'Europe/Paris')
  t.equal(parsed([], { TIMESTAMP_DEFAULT_ZONE: ' +0530 ' }).timestampDefaultZone, '+05:30')
  t.equal(parsed(['--timestamp-default-zone=Z']).timestampDefaultZone, 'UTC')
  t.equal(
    parsed(['--timestamp-default-zone', 'America/New_York'], { TIMESTAMP_DEFAULT_ZONE: 'UTC' }).timestampDefaultZone,
    'America/New_York',
    'the flag wins',
  )
})

t.test('KAFKA_FETCH: supervisor (the default, kafkajs on the main thread) or actors', async (t) => {
  t.equal(parsed().kafkaFetch, 'supervisor')
  t.equal(parsed([], { KAFKA_FETCH: 'actors' }).kafkaFetch, 'actors')
  t.equal(parsed(['--kafka-fetch', 'supervisor'], { KAFKA_FETCH: 'actors' }).kafkaFetch, 'supervisor')
  t.match(
    usageError(t, () => parse([], { KAFKA_FETCH: 'workers' })),
    /KAFKA_FETCH/,
  )
})

t.test('FLUSH_RECORDS is capped at 50,000', async (t) => {
  t.equal(MAX_FLUSH_RECORDS, 50_000)
  t.equal(parsed([], { FLUSH_RECORDS: '50000' }).flushRecords, 50_000, '50000 accepted')
  t.match(
    usageError(t, () => parse([], { FLUSH_RECORDS: '50001' })),
    /FLUSH_RECORDS.*50000/,
  )
  t.match(
    usageError(t, () => parse(['--flush-records', '1000000'])),
    /--flush-records/,
  )
  t.match(
    usageError(t, () => parse([], { FLUSH_RECORDS: '0' })),
    /FLUSH_RECORDS/,
  )
  // The reason for the cap: that many of the largest amount stay exact in a double.
  t.ok(MAX_FLUSH_RECORDS * 99_999_999_999 < Number.MAX_SAFE_INTEGER)
})

t.test('rejected_events settings: contract defaults, bounds', async (t) => {
  const v = parsed()
  t.equal(v.rejectedPayloadMaxBytes, 65_536, 'REJECTED_PAYLOAD_MAX_BYTES defaults to 65536')
  t.equal(v.rejectedRetentionDays, 30, 'REJECTED_RETENTION_DAYS defaults to 30')
  t.equal(v.rejectedRetentionIntervalSeconds, 3600)
  t.equal(parsed([], { REJECTED_PAYLOAD_MAX_BYTES: '0' }).rejectedPayloadMaxBytes, 0, '0: keep only length and hash')
  t.equal(parsed(['--rejected-payload-max-bytes', String(MAX_REJECTED_PAYLOAD_BYTES)]).rejectedPayloadMaxBytes, MAX_REJECTED_PAYLOAD_BYTES)
  t.match(
    usageError(t, () => parse([], { REJECTED_PAYLOAD_MAX_BYTES: String(MAX_REJECTED_PAYLOAD_BYTES + 1) })),
    /REJECTED_PAYLOAD_MAX_BYTES/,
  )
  t.match(
    usageError(t, () => parse([], { REJECTED_PAYLOAD_MAX_BYTES: '-1' })),
    /REJECTED_PAYLOAD_MAX_BYTES/,
  )
  t.equal(parsed([], { REJECTED_RETENTION_DAYS: '0' }).rejectedRetentionDays, 0, '0: keep everything')
  t.equal(parsed(['--rejected-retention-days=7']).rejectedRetentionDays, 7)
  t.match(
    usageError(t, () => parse([], { REJECTED_RETENTION_DAYS: String(MAX_REJECTED_RETENTION_DAYS + 1) })),
    /REJECTED_RETENTION_DAYS.*366/,
  )
  t.match(
    usageError(t, () => parse([], { REJECTED_RETENTION_INTERVAL_SECONDS: '0' })),
    /REJECTED_RETENTION_INTERVAL_SECONDS/,
  )
})

t.test('int / text / list', async (t) => {
  const i = int(1, 10)
  t.equal(i('1'), 1)
  t.equal(i('10'), 10)
  t.equal(i('007'), 7)
  t.match(
    usageError(t, () => i('0')),
    /expected 1\.\.10, got 0/,
  )
  t.match(
    usageError(t, () => i('11')),
    /expected 1\.\.10, got 11/,
  )
  t.match(
    usageError(t, () => i('')),
    /expected an integer/,
  )
  t.match(
    usageError(t, () => i('1.0')),
    /expected an integer, got "1\.0"/,
  )
  t.match(
    usageError(t, () => i('0x5')),
    /expected an integer/,
  )
  t.match(
    usageError(t, () => i('+5')),
    /expected an integer/,
  )
  t.match(
    usageError(t, () => i('5abc')),
    /expected an integer/,
  )
  t.equal(int(-5)('-3'), -3, 'negative within range')
  t.match(
    usageError(t, () => int(0)('99999999999999999999')),
    /expected 0\.\./,
    'beyond MAX_SAFE_INTEGER',
  )
  t.equal(int(0)('9007199254740991'), Number.MAX_SAFE_INTEGER)
  t.equal(text(' a b '), 'a b')
  t.match(
    usageError(t, () => text('')),
    /must not be empty/,
  )
  t.same(list('a'), ['a'])
  t.same(list('a,,b,'), ['a', 'b'])
  t.match(
    usageError(t, () => list(',')),
    /at least one/,
  )
})

t.test('a flag-only option and the usage text', async (t) => {
  const options = {
    dryRun: { flag: 'dry-run', help: 'do nothing', default: 'no', parse: text },
    count: { env: 'COUNT', flag: 'count', help: 'how many', default: 3, parse: int(0) },
  } satisfies Options
  t.same(parseOptions(options, [], { DRY_RUN: 'yes', dryRun: 'yes' }), { dryRun: 'no', count: 3 }, 'no env variable for a flag-only option')
  t.same(parseOptions(options, ['--dry-run', 'yes', '--count=0'], {}), { dryRun: 'yes', count: 0 })
  const u = usage('prog', 'does things', options)
  t.match(u, /usage: prog \[options\]/)
  t.match(u, /--count \[COUNT\]/)
  t.match(u, /--dry-run\n/, 'no brackets for a flag-only option')
  t.match(u, /--help/)
  t.match(usage('supervisor', '', supervisorOptions), /--flush-records \[FLUSH_RECORDS\]/)
})

t.test('connection settings are checked at start: brokers, topic name, database URL, fault spec', async (t) => {
  t.match(
    usageError(t, () => parse([], { KAFKA_BROKERS: 'foo:bar' })),
    /^invalid KAFKA_BROKERS: expected host:port, got "foo:bar"/,
  )
  t.match(
    usageError(t, () => parse([], { KAFKA_BROKERS: 'a:9092,b:70000' })),
    /got "b:70000"/,
  )
  t.same(parse([], { KAFKA_BROKERS: 'k1:9092, [::1]:9093' })!.kafkaBrokers, ['k1:9092', '[::1]:9093'])
  t.match(
    usageError(t, () => parse([], { KAFKA_TOPIC: 'bad topic!' })),
    /^invalid KAFKA_TOPIC: "bad topic!" is not a Kafka topic name/,
  )
  t.match(
    usageError(t, () => parse(['--kafka-topic', '..'])),
    /invalid --kafka-topic/,
  )
  t.equal(parse([], { KAFKA_TOPIC: 'sales.v2_eu-1' })!.kafkaTopic, 'sales.v2_eu-1')
  for (const url of ['notaurl', 'postgresql://u@h/brk%zzdb', 'postgresql://u@[::1:5432/db', 'mysql://u@h/db']) {
    t.match(
      usageError(t, () => parse([], { DATABASE_URL: url })),
      /^invalid DATABASE_URL: expected/,
      url,
    )
  }
  t.equal(
    parse([], { DATABASE_URL: 'postgres://u:p%40ss@db:5433/sales?sslmode=require' })!.databaseUrl,
    'postgres://u:p%40ss@db:5433/sales?sslmode=require',
  )
  t.match(
    usageError(t, () => parse([], { TUMBLER_FAULTS: 'bogus' })),
    /^invalid TUMBLER_FAULTS: bad fault "bogus"/,
  )
  t.equal(parse([], { TUMBLER_FAULTS: 'actor0:batch:2,sigusr2,warning' })!.faults, 'actor0:batch:2,sigusr2,warning')
})
