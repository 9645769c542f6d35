import { Injectable } from '@nestjs/common';
import { GroupSync, type GroupSyncPlan } from './group-sync.js';

/** `none` (the default): logins never touch groups. */
@Injectable()
export class NoGroupSync extends GroupSync {
  managedGroupDns(): string[] {
    return [];
  }

  plan(): GroupSyncPlan | null {
    return null;
  }
}
