// test/transactions.test.ts again with KAFKA_FETCH=actors (issue 13): every supervisor it starts fetches
// and decodes in its actors (workers/fetch-loop.ts) instead of kafkajs on the main thread.
process.env.KAFKA_FETCH = 'actors'
await import('../transactions.test.js')
