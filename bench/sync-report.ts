/** Statistics and the text table of the sync benchmark. */

export interface Stats {
  median: number;
  min: number;
  max: number;
  /** Every sample, in the order measured. */
  samples: number[];
}

export function stats(samples: number[]): Stats {
  if (samples.length === 0) throw new Error('no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return {
    median: round(median, 4),
    min: round(sorted[0], 4),
    max: round(sorted.at(-1)!, 4),
    samples: samples.map((s) => round(s, 4)),
  };
}

/** Seconds, three significant digits: 0.0812 s, 0.812 s, 8.12 s, 81.2 s. */
export function secs(seconds: number): string {
  if (seconds >= 100) return `${seconds.toFixed(0)} s`;
  if (seconds >= 10) return `${seconds.toFixed(1)} s`;
  if (seconds >= 1) return `${seconds.toFixed(2)} s`;
  return `${seconds.toFixed(3)} s`;
}

/** "0.78–0.83": min–max in the median's precision (one sample: "–"). */
export function range(s: Stats): string {
  if (s.samples.length < 2) return '–';
  return `${secs(s.min).replace(' s', '')}–${secs(s.max)}`;
}

export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const round = (n: number, digits: number): number => Number(n.toFixed(digits));

/** Rows of cells; a row of one cell is a section heading. The first row is the header. */
export function table(rows: string[][]): string {
  const header = rows[0];
  const widths = header.map((_, i) =>
    Math.max(...rows.filter((row) => row.length > 1).map((row) => [...(row[i] ?? '')].length)),
  );
  const line = (row: string[]): string =>
    row.length === 1
      ? row[0]
      : row
          .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
          .join('  ')
          .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}
