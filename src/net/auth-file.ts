/**
 * collectd's AuthFile format, shared by receivers that check collectd signatures: one `user: password`
 * per line, blank lines and `#` comments ignored, whitespace around both fields trimmed.
 */

export interface AuthFile {
  readonly users: Map<string, string>;
  /** 1-based numbers of lines that are not `user: password`. */
  readonly badLines: number[];
}

export function parseAuthFile(text: string): AuthFile {
  const users = new Map<string, string>();
  const badLines: number[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    const user = colon > 0 ? line.slice(0, colon).trim() : '';
    const password = colon > 0 ? line.slice(colon + 1).trim() : '';
    if (user === '' || password === '') {
      badLines.push(i + 1);
      continue;
    }
    users.set(user, password);
  }
  return { users, badLines };
}
