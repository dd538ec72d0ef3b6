// tsc writes src/ to dist/src/ (migrations/ sits beside src/); these two
// one-line entry points keep the documented commands `node dist/main.js` and
// `node dist/cli.js`.
import { writeFileSync } from 'node:fs';

for (const name of ['main', 'cli']) {
  writeFileSync(new URL(`../dist/${name}.js`, import.meta.url), `import './src/${name}.js';\n`);
}
