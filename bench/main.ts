// `npm run bench -- <name> [options]` runs bench/<name>.ts (default: foundation) with the remaining options.
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const names = readdirSync(here).filter((f) => f.endsWith('.ts') && f !== 'main.ts').map((f) => f.slice(0, -3));
const [first, ...rest] = process.argv.slice(2);
const name = first === undefined || first.startsWith('-') ? 'foundation' : first;
const file = join(here, `${name}.ts`);
if (!existsSync(file)) {
  console.error(`moalign bench: no benchmark '${name}'; there are: ${names.join(', ')}`);
  process.exit(2);
}
process.argv = [process.argv[0], file, ...(name === first ? rest : process.argv.slice(2))];
await import(pathToFileURL(file).href);
