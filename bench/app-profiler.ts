/**
 * Preloaded into an HTTP scenario's app (`node --import`) when BENCH_APP_PROFILE names a directory: profiles
 * the app's CPU from start and writes `<key>-<pid>.cpuprofile` there on SIGUSR2, which the bench sends before
 * it stops the app (--cpu-prof would need a clean exit, and Nest's shutdown hooks end the process by signal).
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
  process.on('SIGUSR2', () => {
    void session.post('Profiler.stop').then(({ profile }) => {
      const file = path.join(dir, `${process.env.BENCH_APP_KEY ?? 'app'}-${process.pid}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      process.send?.('profiled');
      console.log(`profile written: ${file}`);
    });
  });
}
