// Column rules: which result columns get a fixed treatment, by name glob and/or type.

/** What a detector match or a whole cell becomes. `keep` for partial defaults to 4. */
export type MaskStrategy =
  | { readonly kind: 'redact' }
  | { readonly kind: 'partial'; readonly keep?: number }
  | { readonly kind: 'null' }
  | { readonly kind: 'tokenize' };

/**
 * What a column rule does with every cell of the column: a `MaskStrategy` on the whole value,
 * `keep` (pass the value unchanged, detectors off: for columns known to be harmless) or `detect`
 * (run the plan's detectors on the text: useful to exempt a column from a broader rule below).
 */
export type ColumnStrategy = MaskStrategy | { readonly kind: 'keep' } | { readonly kind: 'detect' };

/**
 * A column rule. Name fields are globs (`*` any run of characters, `?` one character, anything
 * else literal) matched case-sensitively against names as PostgreSQL reports them, i.e. after
 * its folding: unquoted identifiers arrive lower-case, so write rules in lower case unless the
 * identifier was quoted. An absent field matches anything; a present `schema` or `table` never
 * matches a computed column (which has none). `type` is a `pg_type.typname` (`text`, `varchar`,
 * `bpchar`, `int4`, `bytea`; a few SQL spellings such as `character varying` are accepted) or a
 * type OID; several may be given.
 */
export interface ColumnRule {
  readonly connection?: string;
  readonly schema?: string;
  readonly table?: string;
  readonly column?: string;
  readonly type?: string | number | readonly (string | number)[];
  readonly strategy: ColumnStrategy;
}

/** A result column as the ingress knows it; computed columns have no schema or table. */
export interface ColumnRef {
  readonly connection: string;
  readonly schema?: string;
  readonly table?: string;
  readonly column?: string;
  readonly typeName?: string;
  readonly typeOid?: number;
}

/** The outcome of matching a column: the first matching rule's strategy and its index in the rule list. */
export interface ColumnAction {
  readonly strategy: ColumnStrategy;
  readonly ruleIndex: number;
}

/** SQL spellings of common types, to their `pg_type.typname`. */
export const TYPE_ALIASES: Readonly<Record<string, string>> = {
  'character varying': 'varchar',
  character: 'bpchar',
  char: 'bpchar',
  integer: 'int4',
  int: 'int4',
  smallint: 'int2',
  bigint: 'int8',
  boolean: 'bool',
  real: 'float4',
  'double precision': 'float8',
  decimal: 'numeric',
  'timestamp without time zone': 'timestamp',
  'timestamp with time zone': 'timestamptz',
};

/** The `pg_type.typname` a rule's type name stands for. */
export function canonicalTypeName(name: string): string {
  const lower = name.toLowerCase();
  return TYPE_ALIASES[lower] ?? lower;
}

/** A glob (`*`, `?`, literals) as an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  let src = '';
  for (const ch of glob) {
    if (ch === '*') src += '.*';
    else if (ch === '?') src += '.';
    else src += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${src}$`, 's');
}

type NameTest = (name: string | undefined) => boolean;

function nameTest(glob: string | undefined): NameTest {
  if (glob === undefined) return () => true;
  if (glob === '*') return (name) => name !== undefined;
  if (!/[*?]/.test(glob)) return (name) => name === glob;
  const re = globToRegExp(glob);
  return (name) => name !== undefined && re.test(name);
}

function typeTest(type: ColumnRule['type']): (ref: ColumnRef) => boolean {
  if (type === undefined) return () => true;
  const list = Array.isArray(type) ? type : [type];
  const names = new Set(list.filter((t): t is string => typeof t === 'string').map(canonicalTypeName));
  const oids = new Set(list.filter((t): t is number => typeof t === 'number'));
  return (ref) =>
    (ref.typeName !== undefined && names.has(canonicalTypeName(ref.typeName))) || (ref.typeOid !== undefined && oids.has(ref.typeOid));
}

/** Compiles `rules` into a matcher: the first rule that matches a column wins; undefined when none does. */
export function compileColumnRules(rules: readonly ColumnRule[]): (ref: ColumnRef) => ColumnAction | undefined {
  const compiled = rules.map((rule, ruleIndex) => {
    const connection = nameTest(rule.connection);
    const schema = nameTest(rule.schema);
    const table = nameTest(rule.table);
    const column = nameTest(rule.column);
    const type = typeTest(rule.type);
    const action: ColumnAction = { strategy: rule.strategy, ruleIndex };
    return (ref: ColumnRef) =>
      connection(ref.connection) && schema(ref.schema) && table(ref.table) && column(ref.column) && type(ref) ? action : undefined;
  });
  return (ref) => {
    for (const test of compiled) {
      const action = test(ref);
      if (action) return action;
    }
    return undefined;
  };
}
