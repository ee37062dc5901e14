// The contract runs `node dist/supervisor.js` and `node dist/producer.js`; tsc puts the
// programs under dist/src/ (workers/ sits beside src/), so write the two entry points. Each
// checks the Node.js line first and loads the program only on a supported one (dynamic import,
// so nothing of the program is even parsed by an end-of-life Node).
import { writeFileSync } from 'node:fs'
const PROGRAMS = { supervisor: './src/supervisor.js', producer: './src/producer/main.js' }
for (const [name, module] of Object.entries(PROGRAMS)) {
  writeFileSync(
    `dist/${name}.js`,
    `import { requireSupportedNode } from './src/runtime.js'\nrequireSupportedNode('${name}')\nawait import('${module}')\n`,
  )
}
