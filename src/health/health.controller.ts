import { Controller, Get, HttpException, HttpStatus } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { LdapDirectory } from '@app/ldap-auth';

type Check = { status: 'up' } | { status: 'down'; error: string };

@Controller('health')
export class HealthController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly directory: LdapDirectory,
  ) {}

  /** 200 when the database and the directory both answer, 503 otherwise; details either way. */
  @Get()
  async health(): Promise<{ status: string; database: Check; directory: Check }> {
    const [database, directory] = await Promise.all([
      check(() => this.dataSource.query('SELECT 1')),
      check(() => this.directory.ping()),
    ]);
    const body = {
      status: database.status === 'up' && directory.status === 'up' ? 'ok' : 'error',
      database,
      directory,
    };
    if (body.status !== 'ok') throw new HttpException(body, HttpStatus.SERVICE_UNAVAILABLE);
    return body;
  }
}

async function check(probe: () => Promise<unknown>): Promise<Check> {
  try {
    await probe();
    return { status: 'up' };
  } catch (error) {
    return { status: 'down', error: error instanceof Error ? error.message : String(error) };
  }
}
