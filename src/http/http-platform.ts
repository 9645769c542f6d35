import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { LOGIN_BODY_LIMIT_BYTES, parseLoginJson } from '../config/login-body.js';
import type { HttpAdapterKind } from './http-adapter-kind.js';

/**
 * The demo serves HTTP on Express (Nest's default, what most apps use) or on Fastify (HTTP_ADAPTER=fastify:
 * about a quarter of Express's CPU per request in Nest, measured in `npm run bench:login`). The library does not
 * care which: its guard reads `req.body`, its admin controllers return strings. What differs is here.
 */

/** What the demo's guards and filters read of a request, on either adapter. */
export interface HttpRequest {
  headers: IncomingHttpHeaders;
  method?: string;
  url?: string;
  ip?: string;
  body?: unknown;
  user?: unknown;
}

/** Express's response is Node's; Fastify's reply wraps it (`raw`). */
type FastifyReplyLike = {
  raw: ServerResponse;
  code(status: number): FastifyReplyLike;
  header(name: string, value: string): FastifyReplyLike;
  send(body?: string): unknown;
};
type ExpressResponseLike = ServerResponse & {
  status(status: number): ExpressResponseLike;
  send(body?: string): unknown;
};
export type HttpResponse = FastifyReplyLike | ExpressResponseLike;

function isReply(res: HttpResponse): res is FastifyReplyLike {
  return 'raw' in res && typeof res.code === 'function';
}

/** Node's response under either adapter: its `close` event, status and headers. */
export function rawResponse(res: HttpResponse): ServerResponse {
  return isReply(res) ? res.raw : res;
}

/** The request's path without its query. */
export function requestPath(req: HttpRequest): string {
  return (req.url ?? '').split('?', 1)[0];
}

/** Answers with `status`, the headers given, and the body (none for a redirect). */
export function sendResponse(res: HttpResponse, status: number, headers: Record<string, string>, body = ''): void {
  if (isReply(res)) {
    let reply = res.code(status);
    for (const [name, value] of Object.entries(headers)) reply = reply.header(name, value);
    reply.send(body);
    return;
  }
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.status(status).send(body);
}

/** 303 See Other to `location`: the browser follows it with a GET. */
export function seeOther(res: HttpResponse, location: string, headers: Record<string, string> = {}): void {
  sendResponse(res, 303, { ...headers, Location: location });
}

/** The adapter to create the app with; undefined is Nest's default (Express). Fastify is loaded only if chosen. */
export async function httpAdapterFor(kind: HttpAdapterKind): Promise<FastifyAdapter | undefined> {
  if (kind !== 'fastify') return undefined;
  const { FastifyAdapter } = await import('@nestjs/platform-fastify');
  return new FastifyAdapter();
}

/**
 * Before `init()`, for an app created with `bodyParser: false` on Express: forms (the admin page's sign-in) get
 * Express's parser, JSON bodies stay LoginBodyMiddleware's. On Fastify (`bodyParser: true`, which also parses
 * forms), JSON bodies (the login's) are read by Fastify with the login route's limit and parsed by the same
 * rules as on Express.
 */
export function configureHttpApp(app: INestApplication, kind: HttpAdapterKind): void {
  if (kind === 'express') {
    const express = app as NestExpressApplication;
    express.useBodyParser('urlencoded', { extended: false, limit: LOGIN_BODY_LIMIT_BYTES });
    // No answer here is cached by validators (a login, a token check, a page behind a session): an ETag is a
    // hash of every response body for nothing. X-Powered-By only tells a scanner what runs here.
    express.set('etag', false);
    express.disable('x-powered-by');
    return;
  }
  (app as NestFastifyApplication).useBodyParser(
    'application/json',
    { bodyLimit: LOGIN_BODY_LIMIT_BYTES },
    // A promise: Nest's Fastify adapter completes a two-argument parser only when it returns one.
    (_req: unknown, body: Buffer) => Promise.resolve().then(() => parseLoginJson(body.toString('utf8'))),
  );
}
