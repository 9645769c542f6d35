/** The HTTP adapters the demo runs on (HTTP_ADAPTER): see http-platform.ts. */
export type HttpAdapterKind = 'express' | 'fastify';
export const HTTP_ADAPTERS: readonly HttpAdapterKind[] = ['express', 'fastify'];
