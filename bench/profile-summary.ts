/**
 * A CPU profile (`.cpuprofile`, as BENCH_APP_PROFILE writes them) in a few tables of text: where the samples
 * fell by package (self time), the functions with the most self time, and the frames with the most time
 * under them. `node dist/bench/bench/profile-summary.js <file> [from] [to]`: `from`/`to` (0–1) keep a slice of
 * the run, e.g. `0.6 1` for the returning logins after the first ones.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

/** Who owns a frame: an npm package, Node itself, the library, the app, or V8 (no URL). */
function ownerOf(url: string): string {
  if (!url) return '(V8 and system calls)';
  const pkg = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return 'node (core modules)';
  if (url.includes('/libs/ldap-auth/')) return '@nest-ldap-auth/ldap-auth';
  return 'the app';
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  return `${functionName || '(anonymous)'} ${url ? `${url.split('/').slice(-2).join('/')}:${lineNumber + 1}` : ''}`.trim();
}

export function summarizeProfile(profile: Profile, from = 0, to = 1, top = 25): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const first = Math.floor(from * profile.samples.length);
  const last = Math.ceil(to * profile.samples.length);
  // Idle samples (the app waiting for work) are left out: the shares are of the CPU time the app used.
  const slice = profile.samples.slice(first, last);
  const samples = slice.filter((id) => byId.get(id)!.callFrame.functionName !== '(idle)');
  const selfByOwner = new Map<string, number>();
  const selfByFrame = new Map<string, number>();
  const underFrame = new Map<string, number>();
  const add = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  for (const id of samples) {
    const node = byId.get(id)!;
    add(selfByOwner, ownerOf(node.callFrame.url));
    add(selfByFrame, frameName(node));
    // Each frame once per sample, however deep its recursion.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const name = frameName(byId.get(at)!);
      if (!seen.has(name)) add(underFrame, name);
      seen.add(name);
    }
  }
  const table = (title: string, map: Map<string, number>, rows: number) =>
    [`| ${title} | share |`, '| --- | ---: |']
      .concat(
        [...map]
          .sort((a, b) => b[1] - a[1])
          .slice(0, rows)
          .map(([key, count]) => `| ${key.replace(/\|/g, '\\|')} | ${((100 * count) / samples.length).toFixed(1)} % |`),
      )
      .join('\n');
  return [
    `${samples.length} busy samples of ${slice.length} (${(from * 100).toFixed(0)}–${(to * 100).toFixed(0)} % of the` +
      ` run; shares are of the busy ones)`,
    table('self time by owner', selfByOwner, top),
    table('self time by function', selfByFrame, top),
    table('time under a frame (inclusive)', underFrame, top * 2),
  ].join('\n\n');
}

if (process.argv[1]?.endsWith('profile-summary.js')) {
  const [file, from, to] = process.argv.slice(2);
  if (!file) throw new Error('usage: profile-summary.js <file.cpuprofile> [from 0-1] [to 0-1]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  console.log(summarizeProfile(profile, Number(from ?? 0), Number(to ?? 1)));
}
