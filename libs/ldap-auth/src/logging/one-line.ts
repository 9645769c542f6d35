/**
 * Text for one log line: line breaks (and the blanks around them) folded into " | ", so an error whose message
 * spans lines (a socket error, a driver's report) stays one event for whatever reads the log line by line.
 */
export function oneLine(text: string): string {
  return text
    .split(/[\r\n]+/)
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .join(' | ');
}

/** An error's message (or the thrown value as text) on one line. */
export function errorText(error: unknown): string {
  return oneLine(error instanceof Error ? error.message : String(error));
}
