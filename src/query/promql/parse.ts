/**
 * PromQL text to the evaluator's syntax tree. The grammar is Prometheus' own (`@prometheus-io/lezer-promql`,
 * the one its web UI uses); this module walks the lezer tree, reports syntax errors, and type-checks
 * the way Prometheus' parser does (argument types, `bool` only on comparisons, set operators only
 * between vectors...), so a bad query is a `bad_data` error before anything is read.
 */
import { parser } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';
import type { AggOp, BinOp, Expr, LabelMatcherNode, MatchOp, ValueType, VectorMatching, VectorSelector } from './ast.js';
import { parsePromDuration } from '../time.js';
import { FUNCTIONS } from './functions.js';

export class PromParseError extends Error {}

const BIN_OPS: Record<string, BinOp> = {
  Add: '+',
  Sub: '-',
  Mul: '*',
  Div: '/',
  Mod: '%',
  Pow: '^',
  Atan2: 'atan2',
  Eql: '==',
  Neq: '!=',
  Gtr: '>',
  Lss: '<',
  Gte: '>=',
  Lte: '<=',
  And: 'and',
  Or: 'or',
  Unless: 'unless',
};
const COMPARISONS = new Set<BinOp>(['==', '!=', '>', '<', '>=', '<=']);
const SET_OPS = new Set<BinOp>(['and', 'or', 'unless']);
const AGG_OPS = new Set<string>(['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values']);

export function isComparison(op: BinOp): boolean {
  return COMPARISONS.has(op);
}
export function isSetOp(op: BinOp): boolean {
  return SET_OPS.has(op);
}

/** Go's strconv.Unquote for "..." '...' and `...`. */
export function unquote(s: string): string {
  const q = s[0];
  if (s.length < 2 || s[s.length - 1] !== q) throw new PromParseError(`unterminated quoted string ${s}`);
  const body = s.slice(1, -1);
  if (q === '`') return body;
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== '\\') {
      if (c === q || c === '\n') throw new PromParseError(`invalid syntax in string ${s}`);
      out += c;
      continue;
    }
    const e = body[++i];
    const hex = (n: number): void => {
      const h = body.slice(i + 1, i + 1 + n);
      if (h.length !== n || !/^[0-9a-fA-F]+$/.test(h)) throw new PromParseError(`invalid escape in string ${s}`);
      out += String.fromCodePoint(parseInt(h, 16));
      i += n;
    };
    switch (e) {
      case 'a': out += '\x07'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case '\\': out += '\\'; break;
      case '"':
      case "'":
        if (e !== q) throw new PromParseError(`invalid escape in string ${s}`);
        out += e;
        break;
      case 'x': hex(2); break;
      case 'u': hex(4); break;
      case 'U': hex(8); break;
      default: {
        const o = body.slice(i, i + 3);
        if (/^[0-7]{3}$/.test(o)) {
          out += String.fromCharCode(parseInt(o, 8));
          i += 2;
        } else throw new PromParseError(`invalid escape in string ${s}`);
      }
    }
  }
  return out;
}

/** A number literal: decimal, hex, Inf/NaN, or (newer grammars) a duration read as seconds. */
function parseNumber(s: string): number {
  const t = s.toLowerCase();
  if (t === 'inf' || t === '+inf') return Infinity;
  if (t === '-inf') return -Infinity;
  if (t === 'nan') return NaN;
  if (/^0x[0-9a-f]+$/.test(t)) return parseInt(t.slice(2), 16);
  if (/^(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/.test(t)) return Number(t);
  const d = parsePromDuration(s);
  if (d !== undefined) return d / 1000;
  throw new PromParseError(`bad number or duration syntax: ${JSON.stringify(s)}`);
}

function duration(n: SyntaxNode, src: string): number {
  const text = src.slice(n.from, n.to).trim();
  const d = parsePromDuration(text);
  if (d === undefined) {
    if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
    throw new PromParseError(`bad duration ${JSON.stringify(text)}`);
  }
  return d;
}

function children(n: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = n.firstChild; c; c = c.nextSibling) out.push(c);
  return out;
}

function firstError(n: SyntaxNode): SyntaxNode | undefined {
  if (n.type.isError) return n;
  for (let c = n.firstChild; c; c = c.nextSibling) {
    const e = firstError(c);
    if (e) return e;
  }
  return undefined;
}

function labelName(n: SyntaxNode, src: string): string {
  if (n.name === 'QuotedLabelName') return unquote(src.slice(n.from, n.to));
  return src.slice(n.from, n.to);
}

function groupingLabels(n: SyntaxNode | null, src: string): string[] {
  if (!n) return [];
  return children(n)
    .filter((c) => c.name === 'LabelName' || c.name === 'QuotedLabelName')
    .map((c) => labelName(c, src));
}

class Builder {
  constructor(private readonly src: string) {}

  text(n: SyntaxNode): string {
    return this.src.slice(n.from, n.to);
  }

  build(n: SyntaxNode): Expr {
    switch (n.name) {
      case 'PromQL': {
        const c = n.firstChild;
        if (!c) throw new PromParseError('no expression found in input');
        return this.build(c);
      }
      case 'NumberDurationLiteral':
        return { t: 'num', v: parseNumber(this.text(n)) };
      case 'StringLiteral':
        return { t: 'str', v: unquote(this.text(n)) };
      case 'ParenExpr': {
        const c = n.firstChild;
        if (!c) throw new PromParseError('empty parentheses');
        return { t: 'paren', expr: this.build(c) };
      }
      case 'UnaryExpr': {
        const op = n.getChild('UnaryOp');
        const e = children(n).find((c) => c.name !== 'UnaryOp');
        if (!e) throw new PromParseError('unary operator without an operand');
        const inner = this.build(e);
        if (op && this.text(op) === '-') {
          if (inner.t === 'num') return { t: 'num', v: -inner.v };
          return { t: 'neg', expr: inner };
        }
        return inner;
      }
      case 'VectorSelector':
        return this.selector(n);
      case 'MatrixSelector': {
        const vsNode = n.getChild('VectorSelector');
        const dur = n.getChild('DurationExpr');
        if (!vsNode || !dur) throw new PromParseError('bad range selector');
        const vs = this.build(vsNode);
        if (vs.t !== 'vs') throw new PromParseError('ranges only allowed for vector selectors');
        return { t: 'ms', vs, range: duration(dur, this.src) };
      }
      case 'SubqueryExpr': {
        const kids = children(n);
        const durs = kids.filter((c) => c.name === 'DurationExpr');
        const e = kids[0];
        if (!e || durs.length === 0) throw new PromParseError('bad subquery');
        return { t: 'sub', expr: this.build(e), range: duration(durs[0] as SyntaxNode, this.src), step: durs[1] ? duration(durs[1], this.src) : 0, offset: 0 };
      }
      case 'OffsetExpr': {
        const kids = children(n);
        const e = kids[0];
        const d = n.getChild('OffsetDurationExpr');
        if (!e || !d) throw new PromParseError('bad offset');
        const target = this.build(e);
        const off = this.offsetValue(d);
        this.applyModifier(target, (x) => {
          if (x.offset !== 0) throw new PromParseError('offset may not be set multiple times');
          x.offset = off;
        });
        return target;
      }
      case 'StepInvariantExpr': {
        const kids = children(n);
        const e = kids[0];
        if (!e) throw new PromParseError('bad @ modifier');
        const target = this.build(e);
        const pre = n.getChild('AtModifierPreprocessors');
        const num = n.getChild('NumberDurationLiteral');
        let at: number | 'start' | 'end';
        if (pre) at = this.text(pre) === 'start' ? 'start' : 'end';
        else if (num) {
          const v = parseNumber(this.text(num));
          if (!Number.isFinite(v)) throw new PromParseError(`timestamp out of bounds for @ modifier: ${v}`);
          at = Math.round(v * 1000);
        } else throw new PromParseError('bad @ modifier');
        this.applyModifier(target, (x) => {
          if (x.at !== undefined) throw new PromParseError('@ <timestamp> may not be set multiple times');
          x.at = at;
        });
        return target;
      }
      case 'AggregateExpr':
        return this.aggregate(n);
      case 'FunctionCall':
        return this.call(n);
      case 'BinaryExpr':
        return this.binary(n);
      default:
        throw new PromParseError(`unexpected ${n.name} in expression`);
    }
  }

  private offsetValue(d: SyntaxNode): number {
    const neg = d.getChild('UnaryOp');
    if (neg) {
      const inner = d.getChild('OffsetDurationExpr') ?? d.getChild('NumberDurationLiteralInDurationContext');
      if (!inner) throw new PromParseError('bad offset');
      return (this.text(neg) === '-' ? -1 : 1) * this.offsetValue(inner);
    }
    return duration(d, this.src);
  }

  /** offset and @ bind to the selector or subquery they follow (the rightmost operand of a binary). */
  private applyModifier(e: Expr, f: (x: VectorSelector | { offset: number; at?: number | 'start' | 'end' }) => void): void {
    switch (e.t) {
      case 'vs':
        return f(e);
      case 'ms':
        return f(e.vs);
      case 'sub':
        return f(e);
      case 'bin':
        return this.applyModifier(e.rhs, f);
      case 'neg':
        return this.applyModifier(e.expr, f);
      default:
        throw new PromParseError('offset and @ modifiers must follow a selector or subquery');
    }
  }

  private selector(n: SyntaxNode): VectorSelector {
    const matchers: LabelMatcherNode[] = [];
    const id = n.getChild('Identifier');
    if (id) matchers.push({ name: '__name__', op: '=', value: this.text(id) });
    const lm = n.getChild('LabelMatchers');
    if (lm) {
      for (const m of children(lm)) {
        if (m.name === 'QuotedLabelMatcher' && !m.getChild('MatchOp')) {
          // a bare "name" inside braces is the metric name
          const s = m.getChild('StringLiteral') ?? m.getChild('QuotedLabelName');
          if (s) matchers.push({ name: '__name__', op: '=', value: unquote(this.text(s)) });
          continue;
        }
        if (m.name !== 'UnquotedLabelMatcher' && m.name !== 'QuotedLabelMatcher') continue;
        const ln = m.getChild('LabelName') ?? m.getChild('QuotedLabelName');
        const op = m.getChild('MatchOp');
        const val = m.getChild('StringLiteral');
        if (!ln || !op || !val) throw new PromParseError('bad label matcher');
        const mop = this.text(op) as MatchOp;
        const value = unquote(this.text(val));
        if (mop === '=~' || mop === '!~') compileRegex(value);
        matchers.push({ name: labelName(ln, this.src), op: mop, value });
      }
    }
    const named = matchers.filter((m) => m.name === '__name__');
    if (id && named.length > 1) throw new PromParseError(`metric name must not be set twice: ${JSON.stringify(this.text(id))}`);
    // like Prometheus: at least one matcher that does not match the empty string
    if (!matchers.some((m) => !matchesEmpty(m))) throw new PromParseError('vector selector must contain at least one non-empty matcher');
    return { t: 'vs', matchers, offset: 0 };
  }

  private aggregate(n: SyntaxNode): Expr {
    const opNode = n.getChild('AggregateOp');
    const op = opNode ? this.text(opNode).toLowerCase() : '';
    if (!AGG_OPS.has(op)) throw new PromParseError(`unknown aggregation ${JSON.stringify(op)}`);
    const body = n.getChild('FunctionCallBody');
    const args = body ? children(body).map((c) => this.build(c)) : [];
    const mod = n.getChild('AggregateModifier');
    const without = !!mod?.getChild('Without');
    const grouping = groupingLabels(mod?.getChild('GroupingLabels') ?? null, this.src);
    const needsParam = op === 'topk' || op === 'bottomk' || op === 'quantile' || op === 'count_values';
    if (needsParam ? args.length !== 2 : args.length !== 1) {
      throw new PromParseError(`wrong number of arguments for aggregate expression provided, expected ${needsParam ? 2 : 1}, got ${args.length}`);
    }
    const expr = args[args.length - 1] as Expr;
    if (typeOf(expr) !== 'vector') throw new PromParseError(`expected type instant vector in aggregation expression, got ${typeName(typeOf(expr))}`);
    const param = needsParam ? (args[0] as Expr) : undefined;
    if (param) {
      const want: ValueType = op === 'count_values' ? 'string' : 'scalar';
      if (typeOf(param) !== want) throw new PromParseError(`expected type ${typeName(want)} in aggregation parameter, got ${typeName(typeOf(param))}`);
    }
    return param ? { t: 'agg', op: op as AggOp, expr, param, grouping, without } : { t: 'agg', op: op as AggOp, expr, grouping, without };
  }

  private call(n: SyntaxNode): Expr {
    const idNode = n.getChild('FunctionIdentifier');
    const name = idNode ? this.text(idNode) : '';
    const fn = name === 'double_exponential_smoothing' ? 'holt_winters' : name;
    const sig = FUNCTIONS[fn];
    if (!sig) throw new PromParseError(`unknown function with name ${JSON.stringify(fn)}`);
    const body = n.getChild('FunctionCallBody');
    const args = body ? children(body).map((c) => this.build(c)) : [];
    const min = sig.args.length - (sig.optional ?? 0);
    if (args.length < min || (!sig.variadic && args.length > sig.args.length)) {
      throw new PromParseError(`expected ${min === sig.args.length ? '' : 'at least '}${min} argument(s) in call to ${JSON.stringify(fn)}, got ${args.length}`);
    }
    args.forEach((a, i) => {
      const want = sig.args[Math.min(i, sig.args.length - 1)] as ValueType;
      const got = typeOf(a);
      if (got !== want) throw new PromParseError(`expected type ${typeName(want)} in call to function ${JSON.stringify(fn)}, got ${typeName(got)}`);
    });
    return { t: 'call', fn, args };
  }

  private binary(n: SyntaxNode): Expr {
    const kids = children(n);
    const opNode = kids.find((c) => BIN_OPS[c.name] !== undefined);
    if (!opNode) throw new PromParseError('binary expression without an operator');
    const op = BIN_OPS[opNode.name] as BinOp;
    const operands = kids.filter((c) => c !== opNode && c.name !== 'BoolModifier' && c.name !== 'MatchingModifierClause');
    if (operands.length !== 2) throw new PromParseError('binary expression needs two operands');
    const lhs = this.build(operands[0] as SyntaxNode);
    const rhs = this.build(operands[1] as SyntaxNode);
    const bool = !!n.getChild('BoolModifier');
    const mm = n.getChild('MatchingModifierClause');
    const lt = typeOf(lhs);
    const rt = typeOf(rhs);
    for (const t of [lt, rt]) {
      if (t !== 'scalar' && t !== 'vector') throw new PromParseError(`binary expression must contain only scalar and instant vector types`);
    }
    if (bool && !isComparison(op)) throw new PromParseError('bool modifier can only be used on comparison operators');
    if (isComparison(op) && !bool && lt === 'scalar' && rt === 'scalar') throw new PromParseError('comparisons between scalars must use BOOL modifier');
    if (isSetOp(op) && (lt === 'scalar' || rt === 'scalar')) throw new PromParseError(`set operator ${JSON.stringify(op)} not allowed in binary scalar expression`);
    let matching: VectorMatching | undefined;
    if (mm && (lt !== 'vector' || rt !== 'vector')) {
      // Prometheus ignores a matching clause without labels beside a scalar and refuses one with labels
      if (groupingLabels(mm.getChild('GroupingLabels'), this.src).length > 0) throw new PromParseError('vector matching only allowed between instant vectors');
    } else if (mm) {
      const on = !!mm.getChild('On');
      const groups = children(mm).filter((c) => c.name === 'GroupingLabels');
      const labels = groupingLabels(groups[0] ?? null, this.src);
      const left = !!mm.getChild('GroupLeft');
      const right = !!mm.getChild('GroupRight');
      const include = left || right ? groupingLabels(groups[1] ?? null, this.src) : [];
      if ((left || right) && isSetOp(op)) throw new PromParseError(`no grouping allowed for "${op}" operation`);
      const card = isSetOp(op) ? 'many-to-many' : left ? 'many-to-one' : right ? 'one-to-many' : 'one-to-one';
      if (on) for (const l of include) if (labels.includes(l)) throw new PromParseError(`label ${JSON.stringify(l)} must not occur in ON and GROUP clause at once`);
      matching = { card, on, labels, include };
    } else if (lt === 'vector' && rt === 'vector') {
      matching = { card: isSetOp(op) ? 'many-to-many' : 'one-to-one', on: false, labels: [], include: [] };
    }
    return matching ? { t: 'bin', op, lhs, rhs, bool, matching } : { t: 'bin', op, lhs, rhs, bool };
  }
}

function typeName(t: ValueType): string {
  return t === 'vector' ? 'instant vector' : t === 'matrix' ? 'range vector' : t;
}

export function typeOf(e: Expr): ValueType {
  switch (e.t) {
    case 'num':
      return 'scalar';
    case 'str':
      return 'string';
    case 'vs':
    case 'agg':
      return 'vector';
    case 'ms':
    case 'sub':
      return 'matrix';
    case 'paren':
    case 'neg':
      return typeOf(e.expr);
    case 'call':
      return FUNCTIONS[e.fn]?.ret ?? 'vector';
    case 'bin':
      return typeOf(e.lhs) === 'scalar' && typeOf(e.rhs) === 'scalar' ? 'scalar' : 'vector';
  }
}

/** Anchored regular expression with RE2's leading flag groups `(?i)`, `(?s)` mapped to JS flags. */
export function compileRegex(re: string): RegExp {
  let flags = '';
  let body = re;
  const m = /^\(\?([is]+)\)/.exec(body);
  if (m) {
    if ((m[1] as string).includes('i')) flags += 'i';
    if ((m[1] as string).includes('s')) flags += 's';
    body = body.slice(m[0].length);
  }
  body = body.replace(/\(\?P</g, '(?<');
  try {
    return new RegExp(`^(?:${body})$`, flags);
  } catch (e) {
    throw new PromParseError(`invalid regular expression ${JSON.stringify(re)}: ${(e as Error).message}`);
  }
}

export function matchesEmpty(m: LabelMatcherNode): boolean {
  switch (m.op) {
    case '=':
      return m.value === '';
    case '!=':
      return m.value !== '';
    case '=~':
      return compileRegex(m.value).test('');
    case '!~':
      return !compileRegex(m.value).test('');
  }
}

/**
 * Prometheus 3 renamed `holt_winters` to `double_exponential_smoothing` and its grammar knows only the
 * new name; 2.x queries say `holt_winters(`. The old name is rewritten outside strings and comments.
 */
function renameHoltWinters(src: string): string {
  if (!src.includes('holt_winters')) return src;
  let out = '';
  for (let i = 0; i < src.length; ) {
    const c = src[i] as string;
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === '\\' && c !== '`' ? 2 : 1;
      out += src.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === '#') {
      const j = src.indexOf('\n', i);
      const end = j < 0 ? src.length : j;
      out += src.slice(i, end);
      i = end;
      continue;
    }
    const m = /^holt_winters(?=\s*\()/.exec(src.slice(i, i + 40));
    if (m && !/[a-zA-Z0-9_:]/.test(src[i - 1] ?? '')) {
      out += 'double_exponential_smoothing';
      i += m[0].length;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

export function parsePromQL(input: string): Expr {
  if (input.trim() === '') throw new PromParseError('no expression found in input');
  const src = renameHoltWinters(input);
  const tree = parser.parse(src);
  const err = firstError(tree.topNode);
  if (err) {
    const near = src.slice(err.from, Math.max(err.to, err.from + 1));
    throw new PromParseError(`1:${err.from + 1}: parse error: unexpected ${near === '' ? 'end of input' : JSON.stringify(near)}`);
  }
  const e = new Builder(src).build(tree.topNode);
  checkSubqueries(e);
  return e;
}

function checkSubqueries(e: Expr): void {
  switch (e.t) {
    case 'sub':
      if (typeOf(e.expr) !== 'vector') throw new PromParseError(`subquery is only allowed on instant vector, got ${typeName(typeOf(e.expr))} instead`);
      return checkSubqueries(e.expr);
    case 'paren':
    case 'neg':
      return checkSubqueries(e.expr);
    case 'agg':
      checkSubqueries(e.expr);
      if (e.param) checkSubqueries(e.param);
      return;
    case 'bin':
      checkSubqueries(e.lhs);
      return checkSubqueries(e.rhs);
    case 'call':
      return e.args.forEach(checkSubqueries);
    default:
      return;
  }
}
