// The contract runs `node dist/supervisor.js` and `node dist/producer.js`; tsc puts them
// under dist/src/ (workers/ sits beside src/), so write the two one-line entry points.
import { writeFileSync } from 'node:fs'
for (const name of ['supervisor', 'producer']) writeFileSync(`dist/${name}.js`, `import './src/${name}.js'\n`)
