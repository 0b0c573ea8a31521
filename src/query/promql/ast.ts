/** The PromQL syntax tree the evaluator walks (built from the lezer-promql parse tree by parse.ts). */

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface LabelMatcherNode {
  readonly name: string;
  readonly op: MatchOp;
  readonly value: string;
}

/** `@ <time>` (ms), or the query's start/end. */
export type At = number | 'start' | 'end';

export interface VectorSelector {
  readonly t: 'vs';
  readonly matchers: LabelMatcherNode[];
  offset: number;
  at?: At;
}

export interface MatrixSelector {
  readonly t: 'ms';
  readonly vs: VectorSelector;
  readonly range: number;
}

export interface Subquery {
  readonly t: 'sub';
  readonly expr: Expr;
  readonly range: number;
  /** 0 = the default evaluation interval. */
  readonly step: number;
  offset: number;
  at?: At;
}

export type AggOp = 'sum' | 'avg' | 'min' | 'max' | 'count' | 'group' | 'stddev' | 'stdvar' | 'topk' | 'bottomk' | 'quantile' | 'count_values';

export interface Aggregate {
  readonly t: 'agg';
  readonly op: AggOp;
  readonly expr: Expr;
  readonly param?: Expr;
  readonly grouping: string[];
  readonly without: boolean;
}

export type BinOp = '+' | '-' | '*' | '/' | '%' | '^' | 'atan2' | '==' | '!=' | '>' | '<' | '>=' | '<=' | 'and' | 'or' | 'unless';

export interface VectorMatching {
  readonly card: 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';
  readonly on: boolean;
  readonly labels: string[];
  readonly include: string[];
}

export interface Binary {
  readonly t: 'bin';
  readonly op: BinOp;
  readonly lhs: Expr;
  readonly rhs: Expr;
  readonly bool: boolean;
  readonly matching?: VectorMatching;
}

export interface Call {
  readonly t: 'call';
  readonly fn: string;
  readonly args: Expr[];
}

export interface NumberLit {
  readonly t: 'num';
  readonly v: number;
}

export interface StringLit {
  readonly t: 'str';
  readonly v: string;
}

export interface Unary {
  readonly t: 'neg';
  readonly expr: Expr;
}

export interface Paren {
  readonly t: 'paren';
  readonly expr: Expr;
}

export type Expr = VectorSelector | MatrixSelector | Subquery | Aggregate | Binary | Call | NumberLit | StringLit | Unary | Paren;

export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';
