// test/outages.test.ts again with KAFKA_FETCH=actors (issue 13), its cases where the actors'
// fetching changes what happens: the broker restarted under a busy consumer, the in-flight bound
// under a slow Postgres, a Snappy batch, and records deleted by retention. (The Postgres-only
// cases take the same path in both modes; `KAFKA_FETCH=actors npx tap test/outages.test.ts` runs all.)
process.env.KAFKA_FETCH = 'actors'
process.env.TAP_GREP = 'busy consumer|Snappy|Postgres slow|retention'
process.env.TAP_FILTER_QUIETLY = '1'
await import('../outages.test.js')
