// PLACEHOLDER (types only): replaced by the syncrepl18 branch's implementation at merge.
import type { Entry } from '../../model/directory-user.js';

export interface ContentSyncRefresh {
  cookie: string | undefined;
  changed: Array<{ uuid: string; entry: Entry }>;
  present: Set<string> | undefined;
  deleted: Set<string>;
}
export class ContentSyncRefreshRequiredError extends Error {}
