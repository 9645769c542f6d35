import { jest } from '@jest/globals';

// Real servers: starting an app or restarting a directory takes longer than Jest's default 5 s allows.
jest.setTimeout(60_000);
