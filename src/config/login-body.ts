import {
  type ArgumentsHost,
  BadRequestException,
  Catch,
  HttpException,
  Inject,
  Injectable,
  type NestMiddleware,
  PayloadTooLargeException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { ConfigType } from '@nestjs/config';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { appConfig } from './app.config.js';

type NextFunction = (error?: unknown) => void;
/** Node's request, with the body a parser may have left (Express's, in an app created with the defaults). */
type Request = IncomingMessage & { body?: unknown };

/**
 * The most `POST /auth/login` reads: 16 KB. A login is two short strings; anything larger is refused with
 * 413 before it is parsed or reaches the throttle and the directory.
 */
export const LOGIN_BODY_LIMIT_BYTES = 16 * 1024;
export const LOGIN_BODY_LIMIT_TEXT = '16 KB';

const LOGIN_PATH = '/auth/login';
const TOO_LARGE = `the body is larger than the ${LOGIN_BODY_LIMIT_TEXT} (${LOGIN_BODY_LIMIT_BYTES} bytes) POST ${LOGIN_PATH} accepts`;
const NOT_JSON = `POST ${LOGIN_PATH} takes a JSON body: send Content-Type: application/json`;
const NOT_AN_OBJECT = 'the body must be a JSON object, such as {"username":"…","password":"…"}';
const INVALID_JSON = 'the body is not valid JSON';

/** A body that went past the limit while it was read. */
class BodyTooLarge extends Error {}

/**
 * The login route's body, before any guard (so nothing here counts as a login attempt):
 * - a body that is not `application/json` (a form, text/plain...) → 415;
 * - over {@link LOGIN_BODY_LIMIT_BYTES} → 413 (by Content-Length at once, or while reading a chunked body);
 * - JSON that is not an object (`null`, an array, a string...) → 400; invalid JSON → 400.
 * On Express it reads the body itself when no body parser ran before it (`npm start` turns Nest's JSON parser
 * off); where Nest's parsers did run (an app created with the defaults), it checks what they produced, and
 * {@link LoginBodyErrorFilter} words their errors the same way. On Fastify (which runs middleware before it
 * parses) it checks the headers, and Fastify reads the body with the same limit and {@link parseLoginJson}.
 */
@Injectable()
export class LoginBodyMiddleware implements NestMiddleware {
  constructor(@Inject(appConfig.KEY) private readonly config: ConfigType<typeof appConfig>) {}

  use(req: Request, res: ServerResponse, next: NextFunction): void {
    const declared = Number(req.headers['content-length'] ?? 0);
    const hasBody = req.headers['transfer-encoding'] !== undefined || declared > 0;
    if (!hasBody) return next();
    if (mediaType(req) !== 'application/json') return next(new UnsupportedMediaTypeException(NOT_JSON));
    const unreadable = encodingProblem(req);
    if (unreadable) return next(unreadable);
    if (declared > LOGIN_BODY_LIMIT_BYTES) return refuseTooLarge(req, res, next);
    if (this.config.httpAdapter === 'fastify') return next();
    if (req.body !== undefined) return next(objectProblem(req.body));
    readJson(req, LOGIN_BODY_LIMIT_BYTES).then(
      (body) => {
        req.body = body;
        next(objectProblem(body));
      },
      (error: unknown) => (error instanceof BodyTooLarge ? refuseTooLarge(req, res, next) : next(error)),
    );
  }
}

/**
 * Words the errors of Nest's own body parsers on the login route (apps created with them on) as
 * LoginBodyMiddleware does; every other exception gets Nest's usual answer.
 */
@Catch(HttpException)
export class LoginBodyErrorFilter extends BaseExceptionFilter {
  override catch(exception: HttpException, host: ArgumentsHost): void {
    const req = host.switchToHttp().getRequest<{ method?: string; url?: string }>();
    const cause = exception.cause as { type?: unknown; code?: unknown; body?: unknown } | undefined;
    // Express's parsers (body-parser) say `type`; Fastify's say `code`.
    const fromBodyParser =
      (typeof cause?.type === 'string' && /^(entity|charset|encoding)\./.test(cause.type)) ||
      (typeof cause?.code === 'string' && cause.code.startsWith('FST_ERR_CTP_'));
    if (
      !fromBodyParser ||
      req.method !== 'POST' ||
      (req.url ?? '').split('?', 1)[0].replace(/\/+$/, '') !== LOGIN_PATH
    ) {
      return super.catch(exception, host);
    }
    let replacement: HttpException = exception;
    if (cause.type === 'entity.too.large' || cause.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      replacement = new PayloadTooLargeException(TOO_LARGE);
    else if (cause.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') replacement = new BadRequestException(NOT_AN_OBJECT);
    else if (cause.type === 'entity.parse.failed')
      replacement = new BadRequestException(isJson(cause.body) ? NOT_AN_OBJECT : INVALID_JSON);
    else if (cause.type === 'charset.unsupported' || cause.type === 'encoding.unsupported')
      replacement = new UnsupportedMediaTypeException(`${NOT_JSON} (UTF-8, not compressed)`);
    super.catch(replacement, host);
  }
}

function objectProblem(body: unknown): BadRequestException | undefined {
  return body !== null && typeof body === 'object' && !Array.isArray(body)
    ? undefined
    : new BadRequestException(NOT_AN_OBJECT);
}

function isJson(text: unknown): boolean {
  if (typeof text !== 'string') return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The body as JSON, which must be an object: what the login route accepts, on either adapter. */
export function parseLoginJson(text: string): unknown {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BadRequestException(INVALID_JSON);
  }
  const problem = objectProblem(body);
  if (problem) throw problem;
  return body;
}

/** `application/json` of `application/json; charset=utf-8`, lower case; '' without a Content-Type. */
function mediaType(req: Request): string {
  return (req.headers['content-type'] ?? '').split(';', 1)[0].trim().toLowerCase();
}

/** Only UTF-8, uncompressed bodies are read. */
function encodingProblem(req: Request): UnsupportedMediaTypeException | undefined {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
  if (encoding === 'identity' && (charset === undefined || charset === 'utf-8' || charset === 'utf8')) return undefined;
  return new UnsupportedMediaTypeException(`${NOT_JSON} (UTF-8, not compressed)`);
}

/** 413, and the connection is closed after it: the rest of the body is not read. */
function refuseTooLarge(req: Request, res: ServerResponse, next: NextFunction): void {
  res.setHeader('Connection', 'close');
  req.resume();
  next(new PayloadTooLargeException(TOO_LARGE));
}

/** Reads and parses a UTF-8 JSON body of at most `limit` bytes; rejects with BodyTooLarge past it. */
function readJson(req: Request, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(JSON.parse(text) as unknown);
      } catch {
        reject(new BadRequestException(INVALID_JSON));
      }
    };
    const onError = () => {
      cleanup();
      reject(new BadRequestException('the body could not be read'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onError);
  });
}
