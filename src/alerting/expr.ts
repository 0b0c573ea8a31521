/**
 * The alert rule expression language, parsed once at config load:
 *
 *   AGG(metric{tag="v",other!="x"}) over DURATION OP NUMBER     AGG: avg min max sum count last rate
 *   absent(metric{...}) for DURATION
 *   no data for DURATION                                        (metric taken from the rule's `metric`)
 *
 * Tag values follow the store's filter syntax (exact, glob `web-*`, alternatives `a|b`, `!x`), so a rule
 * selects the same series on the stream and in the embedded store. Parse errors carry a position and a hint.
 */
import { parseDuration } from '../model/quantities.js';

export type AlertAgg = 'avg' | 'min' | 'max' | 'sum' | 'count' | 'last' | 'rate';
export const ALERT_AGGS: readonly AlertAgg[] = ['avg', 'min', 'max', 'sum', 'count', 'last', 'rate'];
export type CompareOp = '>' | '>=' | '<' | '<=' | '==' | '!=';

export interface Selector {
  /** Metric name, a glob allowed. */
  readonly name: string;
  /** Store-style tag filters (`!x` for "not x"). */
  readonly tags: Readonly<Record<string, string>>;
}

export interface ThresholdExpr {
  readonly kind: 'threshold';
  readonly agg: AlertAgg;
  readonly selector: Selector;
  /** Window in ms. */
  readonly window: number;
  readonly op: CompareOp;
  readonly threshold: number;
}

export interface AbsentExpr {
  readonly kind: 'absent';
  readonly selector: Selector;
  /** No sample for this long (ms) makes the condition true. */
  readonly window: number;
}

export type AlertExpr = ThresholdExpr | AbsentExpr;

export class ExprError extends Error {
  constructor(
    message: string,
    readonly hint: string,
    readonly pos: number,
  ) {
    super(message);
  }
}

/** Monasca's default period: the window when `over` is left out. */
export const DEFAULT_WINDOW = 60_000;

type Tok = { t: 'id' | 'num' | 'str' | 'op' | 'punct' | 'dur'; v: string; pos: number };

const EXAMPLES = 'e.g. `sum(sonde.heartbeat) over 5m >= 50`, `rate(net.rx_bytes{host="a"}) over 5m > 1e6`, `absent(sonde.heartbeat.received) for 2m`';

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const rest = src.slice(i);
    let m: RegExpExecArray | null;
    if ((m = /^(>=|<=|==|!=|>|<|=~|=)/.exec(rest))) {
      out.push({ t: 'op', v: m[1] as string, pos: i });
      i += (m[1] as string).length;
    } else if ('(){},'.includes(c)) {
      out.push({ t: 'punct', v: c, pos: i });
      i++;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\' && j + 1 < src.length) j++;
        s += src[j];
        j++;
      }
      if (j >= src.length) throw new ExprError(`unterminated string at position ${i + 1}`, `close the quote ${c}`, i);
      out.push({ t: 'str', v: s, pos: i });
      i = j + 1;
    } else if ((m = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+(?![\w.])/.exec(rest))) {
      out.push({ t: 'dur', v: m[0], pos: i });
      i += m[0].length;
    } else if ((m = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?![\w])/.exec(rest))) {
      out.push({ t: 'num', v: m[0], pos: i });
      i += m[0].length;
    } else if ((m = /^[\p{L}\p{N}_\-./*?|]+/u.exec(rest))) {
      out.push({ t: 'id', v: m[0], pos: i });
      i += m[0].length;
    } else {
      throw new ExprError(`unexpected character ${JSON.stringify(c)} at position ${i + 1}`, EXAMPLES, i);
    }
  }
  return out;
}

class Parser {
  private i = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly src: string,
  ) {}

  peek(): Tok | undefined {
    return this.toks[this.i];
  }
  next(): Tok | undefined {
    return this.toks[this.i++];
  }
  back(): void {
    this.i--;
  }
  at(): string {
    const t = this.peek();
    return t ? `at position ${t.pos + 1} (${JSON.stringify(t.v)})` : 'at the end';
  }
  fail(what: string, hint = EXAMPLES): never {
    const t = this.peek();
    throw new ExprError(`expected ${what} ${this.at()}`, hint, t ? t.pos : this.src.length);
  }
  isWord(w: string): boolean {
    const t = this.peek();
    return t !== undefined && t.t === 'id' && t.v.toLowerCase() === w;
  }
  expectWord(w: string, hint?: string): void {
    if (!this.isWord(w)) this.fail(`"${w}"`, hint);
    this.i++;
  }
  expectPunct(p: string): void {
    const t = this.peek();
    if (!t || t.t !== 'punct' || t.v !== p) this.fail(`"${p}"`);
    this.i++;
  }
  isPunct(p: string): boolean {
    const t = this.peek();
    return t !== undefined && t.t === 'punct' && t.v === p;
  }

  duration(): number {
    const t = this.peek();
    let ms: number | undefined;
    if (t && (t.t === 'dur' || t.t === 'num')) ms = parseDuration(t.v);
    if (ms === undefined || ms <= 0) this.fail('a duration', 'write e.g. 30s, 5m, 1h30m (a bare number is seconds)');
    this.i++;
    return ms;
  }

  selector(): Selector {
    const t = this.next();
    if (!t || t.t !== 'id') {
      this.i--;
      this.fail('a metric name', 'write the metric as it is stored, e.g. `sonde.heartbeat` or `cpu.*`');
    }
    const tags: Record<string, string> = {};
    if (this.isPunct('{')) {
      this.i++;
      while (!this.isPunct('}')) {
        const k = this.next();
        if (!k || k.t !== 'id') {
          this.i--;
          this.fail('a tag key', 'write tag filters as {key="value", other!="x"}');
        }
        const op = this.next();
        if (!op || op.t !== 'op' || (op.v !== '=' && op.v !== '!=' && op.v !== '=~')) {
          this.i--;
          this.fail('= or != after the tag key', 'write tag filters as {key="value", other!="x"}');
        }
        const v = this.next();
        if (!v || (v.t !== 'str' && v.t !== 'id' && v.t !== 'num' && v.t !== 'dur')) {
          this.i--;
          this.fail('a tag value', 'quote values: {host="web-1"}');
        }
        tags[k.v] = op.v === '!=' ? '!' + v.v : v.v;
        if (this.isPunct(',')) this.i++;
        else if (!this.isPunct('}')) this.fail('"," or "}"', 'write tag filters as {key="value", other!="x"}');
      }
      this.i++;
    }
    return { name: t.v, tags };
  }

  end(): void {
    if (this.peek()) this.fail('the end of the expression');
  }
}

/**
 * Parses a rule expression. `metric` is the rule's `metric` key, used by `no data for DURATION`.
 * Throws ExprError with a hint.
 */
export function parseExpr(src: string, metric = ''): AlertExpr {
  const toks = tokenize(src);
  const p: Parser = new Parser(toks, src);
  if (toks.length === 0) throw new ExprError('empty expression', EXAMPLES, 0);

  if (p.isWord('no')) {
    p.next();
    p.expectWord('data', 'write `no data for 2m`');
    let selector: Selector;
    if (p.isPunct('(')) {
      p.next();
      selector = p.selector();
      p.expectPunct(')');
    } else {
      if (!metric) {
        throw new ExprError(
          '`no data for ...` needs a metric',
          'set the rule\'s `metric = "name{tag=\\"v\\"}"`, or write `absent(name{tag="v"}) for 2m`',
          0,
        );
      }
      selector = parseSelector(metric);
    }
    p.expectWord('for', 'write `no data for 2m`');
    const window = p.duration();
    p.end();
    return { kind: 'absent', selector, window };
  }

  const head = p.next();
  if (!head || head.t !== 'id') p.fail('an aggregate such as sum( or absent(');
  const fn = head.v.toLowerCase();
  if (fn === 'absent') {
    p.expectPunct('(');
    const selector = p.selector();
    p.expectPunct(')');
    p.expectWord('for', 'write `absent(metric) for 2m`: how long without a sample before the condition holds');
    const window = p.duration();
    p.end();
    return { kind: 'absent', selector, window };
  }
  if (!(ALERT_AGGS as readonly string[]).includes(fn)) {
    throw new ExprError(
      `unknown function ${JSON.stringify(head.v)} at position ${head.pos + 1}`,
      `use one of ${ALERT_AGGS.join(', ')}, absent, or \`no data for 2m\``,
      head.pos,
    );
  }
  p.expectPunct('(');
  const selector = p.selector();
  p.expectPunct(')');
  let window = DEFAULT_WINDOW;
  if (p.isWord('over')) {
    p.next();
    window = p.duration();
  }
  const opTok = p.next();
  if (!opTok || opTok.t !== 'op' || opTok.v === '=' || opTok.v === '=~') {
    p.back();
    p.fail('a comparison (>, >=, <, <=, ==, !=)');
  }
  const num = p.next();
  if (!num || num.t !== 'num' || !Number.isFinite(Number(num.v))) {
    p.back();
    p.fail('a number to compare with');
  }
  p.end();
  return { kind: 'threshold', agg: fn as AlertAgg, selector, window, op: opTok.v as CompareOp, threshold: Number(num.v) };
}

/** Parses `name{k="v"}` alone (the rule's `metric` key). */
export function parseSelector(src: string): Selector {
  const p: Parser = new Parser(tokenize(src), src);
  const s = p.selector();
  p.end();
  return s;
}

export function compare(op: CompareOp, a: number, b: number): boolean {
  switch (op) {
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '==':
      return a === b;
    case '!=':
      return a !== b;
  }
}

/** Writes a selector back in the expression syntax (messages, payloads). */
export function formatSelector(s: Selector): string {
  const keys = Object.keys(s.tags);
  if (keys.length === 0) return s.name;
  return `${s.name}{${keys.map((k) => {
    const v = s.tags[k] as string;
    return v.startsWith('!') ? `${k}!=${JSON.stringify(v.slice(1))}` : `${k}=${JSON.stringify(v)}`;
  }).join(', ')}}`;
}
