/**
 * Where the machine's CPU went during a measurement: this process, slapd, the app under test when it runs in
 * a process of its own, and everything else. The last one
 * says whether the numbers can be trusted (another job on the machine slows both sides down). Linux only;
 * elsewhere the figures are null.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** Linux reports process and system CPU time in these ticks (USER_HZ, 100 on every common platform). */
const TICKS_PER_SECOND = 100;

export interface CpuSnapshot {
  at: number;
  bench: NodeJS.CpuUsage;
  slapdTicks: number | null;
  appTicks: number | null;
  /** utime + stime per PostgreSQL process. */
  postgresTicks: Map<number, number> | null;
  busyTicks: number | null;
}

/** CPU use over an interval, in % of one core. */
export interface CpuShare {
  bench: number;
  slapd: number | null;
  /** The app process (the HTTP scenario); null when the app runs in this process. */
  app: number | null;
  /**
   * Every PostgreSQL server process on the machine (the rows on PostgreSQL run on the local server; other
   * users of that server count too, so a busy machine shows here as well).
   */
  postgres: number | null;
  /** Every other process on the machine. */
  others: number | null;
}

/**
 * `database`: also sample the database server's processes (otherwise they count among the others): `true` or
 * `'postgres'` for PostgreSQL, `'mariadbd'` for MariaDB. They are reported in the `postgres` fields.
 */
export function cpuSnapshot(
  slapdPid: number,
  appPid?: number,
  database: boolean | DatabaseServer = false,
): CpuSnapshot {
  return {
    at: performance.now(),
    bench: process.cpuUsage(),
    slapdTicks: processTicks(slapdPid),
    appTicks: appPid === undefined ? null : processTicks(appPid),
    postgresTicks: database ? serverTicks(database === true ? 'postgres' : database) : null,
    busyTicks: busyTicks(),
  };
}

export function cpuShare(from: CpuSnapshot, to: CpuSnapshot): CpuShare {
  const seconds = (to.at - from.at) / 1000;
  const percent = (cpuSeconds: number): number => Math.round((cpuSeconds / seconds) * 100);
  const benchSeconds = (to.bench.user - from.bench.user + to.bench.system - from.bench.system) / 1e6;
  const slapdSeconds =
    from.slapdTicks !== null && to.slapdTicks !== null ? (to.slapdTicks - from.slapdTicks) / TICKS_PER_SECOND : null;
  const appSeconds =
    from.appTicks !== null && to.appTicks !== null ? (to.appTicks - from.appTicks) / TICKS_PER_SECOND : null;
  const postgresSeconds =
    from.postgresTicks !== null && to.postgresTicks !== null
      ? ticksSince(from.postgresTicks, to.postgresTicks) / TICKS_PER_SECOND
      : null;
  const busySeconds =
    from.busyTicks !== null && to.busyTicks !== null ? (to.busyTicks - from.busyTicks) / TICKS_PER_SECOND : null;
  return {
    bench: percent(benchSeconds),
    slapd: slapdSeconds === null ? null : percent(slapdSeconds),
    app: appSeconds === null ? null : percent(appSeconds),
    postgres: postgresSeconds === null ? null : percent(postgresSeconds),
    others:
      busySeconds === null || slapdSeconds === null
        ? null
        : Math.max(0, percent(busySeconds - benchSeconds - slapdSeconds - (appSeconds ?? 0) - (postgresSeconds ?? 0))),
  };
}

/** CPU time over an interval, in core-seconds (null where not measured). */
export interface CpuSeconds {
  /** This process. */
  own: number;
  slapd: number | null;
  postgres: number | null;
  /** Every process on the machine (and time stolen by the hypervisor): what the work cost the whole box. */
  machine: number | null;
}

export function cpuSeconds(from: CpuSnapshot, to: CpuSnapshot): CpuSeconds {
  const ticks = (a: number | null, b: number | null) => (a === null || b === null ? null : (b - a) / TICKS_PER_SECOND);
  return {
    own: (to.bench.user - from.bench.user + to.bench.system - from.bench.system) / 1e6,
    slapd: ticks(from.slapdTicks, to.slapdTicks),
    postgres:
      from.postgresTicks !== null && to.postgresTicks !== null
        ? ticksSince(from.postgresTicks, to.postgresTicks) / TICKS_PER_SECOND
        : null,
    machine: ticks(from.busyTicks, to.busyTicks),
  };
}

/** The process names of the database servers the login bench runs on. */
export type DatabaseServer = 'postgres' | 'mariadbd';

/** utime + stime of every process of that name, by pid. */
function serverTicks(server: DatabaseServer): Map<number, number> | null {
  try {
    const ticks = new Map<number, number>();
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      } catch {
        continue;
      }
      if (!stat.includes(` (${server}) `)) continue;
      const fields = stat.split(') ')[1].split(' ');
      ticks.set(Number(name), Number(fields[11]) + Number(fields[12]));
    }
    return ticks;
  } catch {
    return null;
  }
}

/**
 * CPU ticks the processes used between two samples: a process that started in between counts from zero; one
 * that ended in between is missed (its ticks are gone with it), so this can only under-count.
 */
function ticksSince(from: Map<number, number>, to: Map<number, number>): number {
  let total = 0;
  for (const [pid, ticks] of to) total += Math.max(0, ticks - (from.get(pid) ?? 0));
  return total;
}

/** utime + stime of a process. */
function processTicks(pid: number): number | null {
  try {
    // The command name (in parentheses) may contain spaces: count fields after it.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

/**
 * Time all CPUs spent running processes, or stolen by the hypervisor for other machines. Interrupt time is
 * left out: on loopback most of it is the benchmark's own traffic, which no process is charged for.
 */
function busyTicks(): number | null {
  try {
    const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
    // user nice system idle iowait irq softirq steal
    const [user, nice, system, , , , , steal] = values.map(Number);
    return user + nice + system + steal;
  } catch {
    return null;
  }
}
