import {
  type ArgumentsHost,
  BadRequestException,
  Catch,
  HttpException,
  Injectable,
  type NestMiddleware,
  PayloadTooLargeException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { NextFunction, Request, Response } from 'express';

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
 * It reads the body itself when no body parser ran before it (`npm start` turns Nest's off); where Nest's
 * parsers did run (an app created with the defaults), it checks what they produced, and
 * {@link LoginBodyErrorFilter} words their errors the same way.
 */
@Injectable()
export class LoginBodyMiddleware implements NestMiddleware {
  use(req: Request, res: Response, next: NextFunction): void {
    const declared = Number(req.headers['content-length'] ?? 0);
    const hasBody = req.headers['transfer-encoding'] !== undefined || declared > 0;
    if (!hasBody) return next();
    if (!req.is('application/json')) return next(new UnsupportedMediaTypeException(NOT_JSON));
    if (declared > LOGIN_BODY_LIMIT_BYTES) return refuseTooLarge(req, res, next);
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
    const req = host.switchToHttp().getRequest<Request>();
    const cause = exception.cause as { type?: unknown; body?: unknown } | undefined;
    const fromBodyParser = typeof cause?.type === 'string' && /^(entity|charset|encoding)\./.test(cause.type);
    if (!fromBodyParser || req.method !== 'POST' || req.path.replace(/\/+$/, '') !== LOGIN_PATH) {
      return super.catch(exception, host);
    }
    let replacement: HttpException = exception;
    if (cause.type === 'entity.too.large') replacement = new PayloadTooLargeException(TOO_LARGE);
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

/** 413, and the connection is closed after it: the rest of the body is not read. */
function refuseTooLarge(req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Connection', 'close');
  req.resume();
  next(new PayloadTooLargeException(TOO_LARGE));
}

/** Reads and parses a UTF-8 JSON body of at most `limit` bytes; rejects with BodyTooLarge past it. */
function readJson(req: Request, limit: number): Promise<unknown> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
  if (encoding !== 'identity' || (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')) {
    return Promise.reject(new UnsupportedMediaTypeException(`${NOT_JSON} (UTF-8, not compressed)`));
  }
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
