import { QueryFailedError, type DataSource } from 'typeorm';

/** Parameters per statement: under SQLite's 32,766 and PostgreSQL's 65,535. */
const MAX_PARAMETERS = 30_000;
/**
 * Rows per multi-row statement on MySQL: its statements are one packet (`max_allowed_packet`, 16 MB by
 * default on MariaDB, 64 MB on MySQL 8), and a row may hold a 2,048-character DN (8 KB of UTF-8).
 */
const MYSQL_MAX_ROWS = 1_000;

/**
 * What the library's raw SQL needs to know about the database it runs on, in one place: placeholders,
 * identifier quoting, "insert unless it exists", which errors mean "a concurrent transaction won, retry".
 */
export class SqlDialect {
  private constructor(readonly kind: 'postgres' | 'sqlite' | 'mysql') {}

  static of(dataSource: DataSource): SqlDialect {
    const type = dataSource.options.type;
    if (type === 'postgres') return new SqlDialect('postgres');
    if (type === 'better-sqlite3') return new SqlDialect('sqlite');
    if (type === 'mysql' || type === 'mariadb') return new SqlDialect('mysql');
    throw new Error(`the LDAP library supports PostgreSQL, SQLite, MySQL and MariaDB, not ${type}`);
  }

  /** The n-th placeholder (from 1). */
  param(n: number): string {
    return this.kind === 'postgres' ? `$${n}` : '?';
  }

  /** A quoted identifier (`groups` is a reserved word in MySQL 8). */
  id(name: string): string {
    return this.kind === 'mysql' ? `\`${name}\`` : `"${name}"`;
  }

  /** SQL concatenation of SQL expressions (`||` is OR on MySQL). */
  concat(...parts: string[]): string {
    return this.kind === 'mysql' ? `CONCAT(${parts.join(', ')})` : parts.join(' || ');
  }

  /**
   * `INSERT … VALUES …` that leaves out rows a unique key already holds. MySQL: a no-op update on duplicate,
   * not INSERT IGNORE, which would also turn other errors (a deadlock, a foreign key) into warnings.
   */
  insertUnlessExists(table: string, columns: string[], values: string): string {
    const head = `INSERT INTO ${this.id(table)} (${columns.map((c) => this.id(c)).join(', ')}) VALUES ${values}`;
    if (this.kind === 'mysql') return `${head} ON DUPLICATE KEY UPDATE ${this.id(columns[0])} = ${this.id(columns[0])}`;
    return `${head} ON CONFLICT DO NOTHING`;
  }

  /** `(p1, p2), (p3, p4)…` for `rows` rows of `width` values, numbered from 1. */
  valuesList(rows: number, width: number): string {
    const out: string[] = [];
    for (let r = 0; r < rows; r++) {
      out.push(`(${Array.from({ length: width }, (_, c) => this.param(r * width + c + 1)).join(', ')})`);
    }
    return out.join(', ');
  }

  /** Rows of `width` values per multi-row statement. */
  rowsPerStatement(width: number): number {
    const byParameters = Math.floor(MAX_PARAMETERS / width);
    return this.kind === 'mysql' ? Math.min(byParameters, MYSQL_MAX_ROWS) : byParameters;
  }

  /**
   * Isolation of the library's transactions. MySQL's default (REPEATABLE READ) reads from a snapshot taken at
   * the transaction's first read, so a login that waited for a concurrent one's new group row would then not
   * see it; READ COMMITTED reads what committed, as on PostgreSQL.
   */
  get isolation(): 'READ COMMITTED' | undefined {
    return this.kind === 'mysql' ? 'READ COMMITTED' : undefined;
  }

  /** A concurrent transaction wrote the same unique key first, or the two deadlocked: run it again. */
  isRetryable(error: unknown): boolean {
    if (!(error instanceof QueryFailedError)) return false;
    const driverError = error.driverError as { code?: string; errno?: number } | undefined;
    const code = driverError?.code ?? '';
    if (this.kind === 'postgres') return code === '23505' || code === '40P01';
    if (this.kind === 'sqlite') return /^SQLITE_CONSTRAINT(_UNIQUE|_PRIMARYKEY)?$/.test(code);
    // 1062 duplicate key, 1213 deadlock (InnoDB rolled the transaction back).
    return driverError?.errno === 1062 || driverError?.errno === 1213;
  }
}
