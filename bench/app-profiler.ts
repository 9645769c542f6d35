/**
 * Preloaded into an HTTP scenario's app (`node --import`) when BENCH_APP_PROFILE names a directory: profiles
 * the app's CPU from start; on each SIGWINCH writes what it has as `<key>-<pid>-<n>.cpuprofile` there and starts
 * again (the bench signals before each mode's cells and before it stops the app: 1 is the start-up, 2 the first
 * logins, 3 the returning ones). SIGWINCH: ignored by default and not among the signals Nest's shutdown hooks end the app on (SIGUSR2 is).
 */
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.env.BENCH_APP_PROFILE;
if (dir) {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  let part = 0;
  process.on('SIGWINCH', () => {
    void session.post('Profiler.stop').then(async ({ profile }) => {
      const file = path.join(dir, `${process.env.BENCH_APP_KEY ?? 'app'}-${process.pid}-${++part}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      await session.post('Profiler.start');
      process.send?.('profiled');
      console.log(`profile written: ${file}`);
    });
  });
}
