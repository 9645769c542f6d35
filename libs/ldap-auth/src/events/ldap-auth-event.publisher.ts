import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { LdapAuthEventMap } from './ldap-auth.events.js';
import { errorText } from '../logging/one-line.js';

interface Emitter {
  emit(event: string, payload: unknown): boolean;
}

/**
 * Publishes the library's events on the app's EventEmitter2 (`@nestjs/event-emitter`), when the app set
 * one up; otherwise a no-op. A listener that throws is logged and never breaks a login or a sync.
 */
@Injectable()
export class LdapAuthEventPublisher implements OnModuleInit {
  private readonly logger = new Logger(LdapAuthEventPublisher.name);
  private emitter?: Emitter;

  constructor(private readonly moduleRef: ModuleRef) {}

  async onModuleInit(): Promise<void> {
    try {
      // Optional: apps without @nestjs/event-emitter (or without EventEmitterModule.forRoot) get no events.
      const { EventEmitter2 } = await import('@nestjs/event-emitter');
      const emitter: Emitter = this.moduleRef.get(EventEmitter2, { strict: false });
      this.emitter = emitter;
    } catch {
      this.emitter = undefined;
    }
  }

  /** Whether anyone can hear: callers skip building large payloads otherwise. */
  get enabled(): boolean {
    return this.emitter !== undefined;
  }

  emit<K extends keyof LdapAuthEventMap>(event: K, payload: LdapAuthEventMap[K]): void {
    if (!this.emitter) return;
    try {
      this.emitter.emit(event, payload);
    } catch (error) {
      this.logger.error(`A listener of ${event} failed: ${errorText(error)}`);
    }
  }
}
