/**
 * Jest globalSetup of the 'e2e' project: starts slapd and Samba AD once for the run (in parallel), writes
 * their details to test/.run/servers.json for testServers(), and leaves the live handles on globalThis for
 * global-teardown.ts (same process).
 *
 * Jest runs this file through ts-jest but then loads it with Node's own ESM loader, which neither finds nor
 * transpiles its relative imports (./slapd.js is slapd.ts). So this file imports only Node built-ins
 * statically, registers a Node module hook that transpiles the harness's .ts files with TypeScript, and loads
 * the harness with dynamic import(). Types are checked by tsc and by the specs, not here.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire, register } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SambaHandle } from './samba.js';
import type { SlapdHandle } from './slapd.js';

/** Where global-teardown.ts finds the handles. */
export const HANDLES_KEY = Symbol.for('ldap-e2e.handles');

export interface RunningServers {
  slapd: SlapdHandle;
  samba: SambaHandle;
}

// Runs in Node's loader thread. resolve: "./x.js" imported from a .ts file means "./x.ts" when x.js does not
// exist (the TypeScript convention). load: .ts files are transpiled to ES modules.
const TS_HOOKS = `
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
let ts;
export async function initialize(data) {
  ts = (await import(data.typescript)).default;
}
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    const fromTs = context.parentURL?.startsWith('file:') && context.parentURL.endsWith('.ts');
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !fromTs || !/^\\.\\.?\\/.*\\.js$/.test(specifier)) throw err;
    return next(specifier.slice(0, -3) + '.ts', context);
  }
}
export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const fileName = fileURLToPath(url);
  const { outputText } = ts.transpileModule(await readFile(fileName, 'utf8'), {
    fileName,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      inlineSourceMap: true,
      inlineSources: true,
    },
  });
  return { format: 'module', source: outputText, shortCircuit: true };
}
`;

const REGISTERED = Symbol.for('ldap-e2e.ts-hooks');

function registerTsImports(): void {
  const g = globalThis as { [REGISTERED]?: boolean };
  if (g[REGISTERED]) return; // watch mode runs globalSetup again
  const typescript = pathToFileURL(createRequire(import.meta.url).resolve('typescript')).href;
  register(`data:text/javascript,${encodeURIComponent(TS_HOOKS)}`, { data: { typescript } });
  g[REGISTERED] = true;
}

export default async function globalSetup(): Promise<void> {
  registerTsImports();
  const [{ startSlapd }, { startSambaAd }, { SERVERS_FILE }, { acquireRunLock, releaseRunLock }] = await Promise.all([
    import('./slapd.js'),
    import('./samba.js'),
    import('./servers.js'),
    import('./run-lock.js'),
  ]);
  await acquireRunLock((line) => process.stdout.write(`\n${line}\n`));

  const timings: string[] = [];
  const timed = async <T>(name: string, start: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const result = await start();
    timings.push(`${name} ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return result;
  };
  const [slapd, samba] = await Promise.allSettled([
    timed('slapd', () => startSlapd()),
    timed('samba AD', startSambaAd),
  ]);
  if (slapd.status === 'rejected' || samba.status === 'rejected') {
    // Do not leave the one that did start running.
    await Promise.allSettled([slapd, samba].flatMap((r) => (r.status === 'fulfilled' ? [r.value.stop()] : [])));
    await releaseRunLock();
    const reasons = [slapd, samba].flatMap((r) =>
      r.status === 'fulfilled'
        ? []
        : [r.reason instanceof Error ? (r.reason.stack ?? r.reason.message) : String(r.reason)],
    );
    throw new Error(`e2e directory servers failed to start:\n\n${reasons.join('\n\n')}`);
  }

  const running: RunningServers = { slapd: slapd.value, samba: samba.value };
  (globalThis as { [HANDLES_KEY]?: RunningServers })[HANDLES_KEY] = running;
  await mkdir(path.dirname(SERVERS_FILE), { recursive: true });
  // JSON drops the handles' functions: spec files get plain data.
  await writeFile(SERVERS_FILE, `${JSON.stringify(running, null, 2)}\n`);
  process.stdout.write(`\ne2e directories up: ${timings.join(', ')}\n`);
}
