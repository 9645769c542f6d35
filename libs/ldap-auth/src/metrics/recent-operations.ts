/** One LDAP request on the wire. */
export type LdapOperation = 'bind' | 'search' | 'compare' | 'extended';

/** `success`; `refused`: the server answered with an error result code; `error`: no usable answer (timeout, socket). */
export type LdapOperationOutcome = 'success' | 'refused' | 'error';

/** Operations kept for the admin page: enough for a median and a 95th percentile, small enough to ignore. */
export const RECENT_OPERATIONS_KEPT = 512;

/** One LDAP request as the admin page shows it. */
export interface RecentOperation {
  operation: LdapOperation;
  outcome: LdapOperationOutcome;
  seconds: number;
  /** Unix time, milliseconds. */
  at: number;
}

/** Per operation over the kept ones: how many, how they ended, and their latencies. */
export interface OperationLatency {
  operation: LdapOperation;
  count: number;
  failed: number;
  medianMs: number;
  p95Ms: number;
  maxMs: number;
  /** Unix time, milliseconds, of the newest. */
  lastAt: number;
}

/**
 * The latest LDAP requests of this process, in a fixed ring. The OpenTelemetry API the instruments use has no
 * read side (values reach an exporter only when the app wires an SDK), so the admin page could not show a
 * latency without one; this ring is filled beside the histogram, whatever the app wired.
 */
export class RecentOperations {
  private readonly ring: RecentOperation[] = [];
  private next = 0;

  constructor(private readonly size = RECENT_OPERATIONS_KEPT) {}

  add(operation: RecentOperation): void {
    if (this.ring.length < this.size) this.ring.push(operation);
    else this.ring[this.next] = operation;
    this.next = (this.next + 1) % this.size;
  }

  /** Oldest first. */
  list(): RecentOperation[] {
    return this.ring.length < this.size
      ? [...this.ring]
      : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }

  /** Latencies by operation (bind, search...), in that order of first appearance. */
  latencies(): OperationLatency[] {
    const byOperation = new Map<LdapOperation, RecentOperation[]>();
    for (const op of this.list()) byOperation.set(op.operation, [...(byOperation.get(op.operation) ?? []), op]);
    return [...byOperation].map(([operation, ops]) => {
      const ms = ops.map((o) => o.seconds * 1000).sort((a, b) => a - b);
      const rank = (q: number) => ms[Math.min(ms.length - 1, Math.ceil(q * ms.length) - 1)];
      return {
        operation,
        count: ops.length,
        failed: ops.filter((o) => o.outcome !== 'success').length,
        medianMs: rank(0.5),
        p95Ms: rank(0.95),
        maxMs: ms[ms.length - 1],
        lastAt: Math.max(...ops.map((o) => o.at)),
      };
    });
  }
}

/** This process's ring, filled by ldapAuthMetrics.ldapOperation. */
export const recentLdapOperations = new RecentOperations();
