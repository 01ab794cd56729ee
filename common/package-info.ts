/**
 * @module Where the installed suite lives and which version it is: the nearest folder above this file
 * holding a package.json (the repository, or `…/node_modules/tsnet-suite` after `npm install -g`),
 * found the same way from source (vitest) and from dist/.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's root folder (holds package.json, dist/, packaging/). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
}

/** The `version` of the package's package.json, as `--version` prints it. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error(`${join(packageRoot(), 'package.json')} has no version`);
  return pkg.version;
}
